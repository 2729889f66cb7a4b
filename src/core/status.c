/* Names and exit codes of md_status values. */
#include "melodiff/status.h"

const char *md_status_name(md_status s)
{
    switch (s) {
    case MD_OK: return "ok";
    case MD_ERR_INTERNAL: return "internal error";
    case MD_ERR_USAGE: return "usage error";
    case MD_ERR_INPUT: return "bad input";
    case MD_ERR_MODEL: return "model file problem";
    case MD_ERR_GPU: return "GPU problem";
    case MD_ERR_IO: return "I/O error";
    case MD_ERR_NOMEM: return "out of memory";
    case MD_ERR_LIMIT: return "limit exceeded";
    }
    return "unknown status";
}

int md_status_exit_code(md_status s)
{
    switch (s) {
    case MD_OK: return 0;
    case MD_ERR_USAGE: return 2;
    case MD_ERR_INPUT:
    case MD_ERR_LIMIT: return 3;
    case MD_ERR_MODEL: return 4;
    case MD_ERR_GPU: return 5;
    default: return 1;
    }
}
