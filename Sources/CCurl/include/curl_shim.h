#ifndef SHARD_CURL_SHIM_H
#define SHARD_CURL_SHIM_H

/* Typed wrappers over libcurl's variadic entry points (curl_easy_setopt, curl_easy_getinfo), which Swift cannot
 * call, plus the few macros Swift cannot import. Everything else in <curl/curl.h> is used from Swift directly. */

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* curl_global_init(CURL_GLOBAL_DEFAULT). Call once per process, before any other libcurl call. */
CURLcode ccurl_global_init(void);

/* curl_easy_setopt for options that take a `long`. */
CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value);

/* curl_easy_setopt for options that take a C string (libcurl copies it). */
CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value);

/* curl_easy_setopt for options that take a data pointer (WRITEDATA, ERRORBUFFER, COPYPOSTFIELDS, ...). */
CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value);

/* curl_easy_setopt(CURLOPT_HTTPHEADER, list); NULL clears the list. */
CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *list);

/* curl_easy_setopt for WRITEFUNCTION or HEADERFUNCTION (same signature). */
CURLcode ccurl_setopt_write_function(CURL *handle, CURLoption option, curl_write_callback callback);

/* curl_easy_setopt(CURLOPT_XFERINFOFUNCTION, callback). */
CURLcode ccurl_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback callback);

/* curl_easy_getinfo for infos that return a `long`. */
CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#ifdef __cplusplus
}
#endif

#endif
