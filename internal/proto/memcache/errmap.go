package memcache

// Reply lines, worded exactly as memcached's (clients match on them).
const (
	msgError      = "ERROR"
	msgBadFormat  = "CLIENT_ERROR bad command line format"
	msgTooLarge   = "SERVER_ERROR object too large for cache"
	msgNoMemory   = "SERVER_ERROR out of memory storing object"
	msgNonNumeric = "CLIENT_ERROR cannot increment or decrement non-numeric value"
	msgStored     = "STORED"
	msgNotStored  = "NOT_STORED"
	msgExists     = "EXISTS"
	msgNotFound   = "NOT_FOUND"
)
