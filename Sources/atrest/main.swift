import ArgumentParser
import Foundation

import AtRestDump

// Before anything is read: a stopped run must not leave copies of values in $TMPDIR.
TemporaryArea.removeOnSignals()
AtRestCommand.run()
