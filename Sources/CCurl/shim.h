// Typed wrappers for libcurl's variadic functions, which Swift cannot call directly.
// Each wrapper fixes the type of the third argument, so a wrong option type is a compile error
// in Swift instead of undefined behaviour in C.
#ifndef BATCHGATE_CCURL_SHIM_H
#define BATCHGATE_CCURL_SHIM_H

#include <curl/curl.h>

/// Sets an option whose argument is a `long` (timeouts, booleans, enumerations).
static inline CURLcode batchgate_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets an option whose argument is a C string (URL, CA file, user name); libcurl copies it.
static inline CURLcode batchgate_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets an option whose argument is a pointer (a header list, a body, callback user data).
static inline CURLcode batchgate_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets an option whose argument is a `curl_off_t` (large sizes such as POSTFIELDSIZE_LARGE).
static inline CURLcode batchgate_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// The callback type of CURLOPT_WRITEFUNCTION, CURLOPT_READFUNCTION and CURLOPT_HEADERFUNCTION.
typedef size_t (*batchgate_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);

/// Sets a data callback (write, read or header function).
static inline CURLcode batchgate_curl_setopt_callback(CURL *handle, CURLoption option,
                                                      batchgate_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/// The callback type of CURLOPT_DEBUGFUNCTION: what libcurl sends and receives, as it would log it.
typedef int (*batchgate_curl_debug_callback)(CURL *handle, curl_infotype type, char *data, size_t size, void *userdata);

/// Sets the debug callback (called only while CURLOPT_VERBOSE is on; it then replaces the stderr log).
static inline CURLcode batchgate_curl_setopt_debug_callback(CURL *handle, CURLoption option,
                                                            batchgate_curl_debug_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/// Reads a `long` result, such as CURLINFO_RESPONSE_CODE.
static inline CURLcode batchgate_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// Reads a `double` result, such as CURLINFO_TOTAL_TIME.
static inline CURLcode batchgate_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// Reads a string result, such as CURLINFO_EFFECTIVE_URL; the string belongs to the handle.
static inline CURLcode batchgate_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLAUTH_BASIC for CURLOPT_HTTPAUTH (a macro with a cast, which Swift cannot see).
static inline long batchgate_curlauth_basic(void) {
    return (long)CURLAUTH_BASIC;
}

/// The running library's version record (CURLVERSION_NOW is a macro Swift cannot see).
static inline curl_version_info_data *batchgate_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}

#endif
