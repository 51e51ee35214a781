#ifndef ONESTOP_CLIBPQ_SHIM_H
#define ONESTOP_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
