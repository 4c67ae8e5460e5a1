#include "build_info.h"

#ifndef ATREST_GIT_COMMIT
#define ATREST_GIT_COMMIT "unknown"
#endif

const char *atrest_build_commit(void) { return ATREST_GIT_COMMIT; }
