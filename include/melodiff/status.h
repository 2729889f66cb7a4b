/* melodiff — status codes and the error contract.
 *
 * Every library function that can fail returns md_status. The human-readable
 * message (file, offset, what was expected, what was found) is stored on the
 * md_ctx passed to the call and read back with md_ctx_error(). */
#ifndef MELODIFF_STATUS_H
#define MELODIFF_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum md_status {
    MD_OK = 0,
    MD_ERR_INTERNAL = 1, /* a bug or an unexpected failure: exit 1 */
    MD_ERR_USAGE = 2,    /* bad arguments from the caller: exit 2 */
    MD_ERR_INPUT = 3,    /* an input file is missing, unreadable or malformed: exit 3 */
    MD_ERR_MODEL = 4,    /* a model file is missing, truncated or mismatched: exit 4 */
    MD_ERR_GPU = 5,      /* no usable Vulkan device, device lost, GPU out of memory: exit 5 */
    MD_ERR_IO = 6,       /* writing an output failed: exit 1 */
    MD_ERR_NOMEM = 7,    /* host allocation failed: exit 1 */
    MD_ERR_LIMIT = 8     /* input exceeds a configured safety limit: exit 3 */
} md_status;

/* Short constant name of a status ("input error", ...). Never NULL. */
const char *md_status_name(md_status s);

/* Process exit code for a status, following DESIGN.md (0 ok, 1 failure,
 * 2 usage, 3 bad input file, 4 model file problem, 5 GPU problem). */
int md_status_exit_code(md_status s);

#ifdef __cplusplus
}
#endif
#endif
