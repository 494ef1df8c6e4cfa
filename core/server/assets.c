/* assets: GET / and the dashboard's files (assets.h), and the chart library. */
#include "server/assets.h"
#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static bool copy_out(response *r, const char *path, const unsigned char *data, size_t len)
{
    r->body = malloc(len ? len : 1);
    if (!r->body)
        return false;
    memcpy(r->body, data, len);
    r->len = len;
    r->status = 200;
    r->content_type = content_type(path);
    return true;
}

/* The chart library, read once from Debian's package. */
static bool chartjs(response *r)
{
    static unsigned char *data;
    static size_t len;
    if (!data) {
        FILE *f = fopen(SERVER_CHARTJS_PATH, "rb");
        if (!f)
            return false;
        unsigned char *buf = NULL;
        size_t cap = 0, n = 0, got;
        do {
            if (n == cap) {
                unsigned char *nb = realloc(buf, cap = cap ? cap * 2 : 262144);
                if (!nb) {
                    free(buf);
                    fclose(f);
                    return false;
                }
                buf = nb;
            }
            got = fread(buf + n, 1, cap - n, f);
            n += got;
        } while (got > 0);
        fclose(f);
        data = buf;
        len = n;
    }
    return copy_out(r, ".js", data, len);
}

bool assets_serve(const char *path, response *r)
{
    if (strcmp(path, "/assets/vendor/chart.js") == 0)
        return chartjs(r);
    const char *want = strcmp(path, "/") == 0 ? "/index.html" : path;
    for (const struct server_asset *a = server_assets; a->path; a++)
        if (strcmp(a->path, want) == 0)
            return copy_out(r, a->path, a->data, a->len);
    return false;
}
