/* md_status names and exit codes, and md_ctx error handling. */
#include <string.h>
#include "melodiff/context.h"
#include "test_util.h"

int main(void)
{
    CHECK(md_status_exit_code(MD_OK) == 0);
    CHECK(md_status_exit_code(MD_ERR_USAGE) == 2);
    CHECK(md_status_exit_code(MD_ERR_INPUT) == 3);
    CHECK(md_status_exit_code(MD_ERR_LIMIT) == 3);
    CHECK(md_status_exit_code(MD_ERR_MODEL) == 4);
    CHECK(md_status_exit_code(MD_ERR_GPU) == 5);
    CHECK(md_status_exit_code(MD_ERR_IO) == 1);
    md_ctx *ctx = NULL;
    CHECK(md_ctx_create(&ctx) == MD_OK);
    CHECK(strcmp(md_ctx_error(ctx), "") == 0);
    md_status s = md_fail(ctx, MD_ERR_INPUT, "%s: bad\nthing at %d", "a.mid", 7);
    CHECK(s == MD_ERR_INPUT);
    CHECK(strcmp(md_ctx_error(ctx), "a.mid: bad thing at 7") == 0);
    md_ctx_clear_error(ctx);
    CHECK(strcmp(md_ctx_error(ctx), "") == 0);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
