// The hints are static inline functions in include/CMemoryHints.h; SwiftPM needs one source file per C target.
#include "CMemoryHints.h"
