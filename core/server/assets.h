/* assets: the dashboard's files from web/, compiled into the binary by
 * cmake/embed_web.cmake. The table ends with a NULL path. */
#ifndef APEX_SERVER_ASSETS_H
#define APEX_SERVER_ASSETS_H

#include <stddef.h>

struct server_asset {
    const char *path; /* "/index.html", "/assets/app.js": the URL path */
    const unsigned char *data;
    size_t len;
};

extern const struct server_asset server_assets[];

/* Where the chart library is served from (/assets/vendor/chart.js): Debian's
 * libjs-chart.js, read when first asked for and kept. */
#define SERVER_CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"

#endif
