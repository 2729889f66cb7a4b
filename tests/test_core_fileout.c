/* Atomic outputs: no overwrite without force, aborted writes leave nothing. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileout.h"
#include "test_util.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/fileout/a/b", MD_TEST_TMP);
    CHECK(md_mkdirs(ctx, dir) == MD_OK);
    CHECK(md_mkdirs(ctx, dir) == MD_OK);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    remove(path);

    md_outfile o;
    CHECK(md_outfile_begin(ctx, path, 0, &o) == MD_OK);
    CHECK(count_entries(dir) == 1); /* only the temporary */
    md_outfile_abort(&o);
    CHECK(count_entries(dir) == 0);

    CHECK(md_write_file_atomic(ctx, path, 0, "abc", 3) == MD_OK);
    CHECK(md_write_file_atomic(ctx, path, 0, "xyz", 3) == MD_ERR_IO);
    unsigned char *data;
    size_t len;
    CHECK(md_read_file(ctx, path, 100, MD_ERR_INPUT, &data, &len) == MD_OK);
    CHECK(len == 3 && memcmp(data, "abc", 3) == 0);
    free(data);
    CHECK(md_write_file_atomic(ctx, path, 1, "xyz", 3) == MD_OK);
    CHECK(md_read_file(ctx, path, 2, MD_ERR_INPUT, &data, &len) == MD_ERR_LIMIT);
    CHECK(md_read_file(ctx, dir, 100, MD_ERR_INPUT, &data, &len) == MD_ERR_INPUT);
    CHECK(count_entries(dir) == 1);
    remove(path);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
