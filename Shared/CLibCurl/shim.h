#ifndef ONESTOP_CLIBCURL_SHIM_H
#define ONESTOP_CLIBCURL_SHIM_H
#include <curl/curl.h>
#endif
