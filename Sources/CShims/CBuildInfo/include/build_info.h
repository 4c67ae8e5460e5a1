#ifndef ATREST_BUILD_INFO_H
#define ATREST_BUILD_INFO_H

/// The commit the binary was built from (Package.swift passes ATREST_GIT_COMMIT
/// from the environment of the build), or "unknown".
const char *atrest_build_commit(void);

#endif
