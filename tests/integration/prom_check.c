/* prom-check FILE [NAME LABELS]: checks FILE under the Prometheus text format rules
 * (tests/support/prom_parse.h) and prints "ok: F families, S samples", or the first
 * problem as FILE:line: what, exit 1. With NAME and LABELS (a="x",b="y", or "" for none)
 * it prints that sample's value instead, exit 1 when it is missing. A test tool. */
#include <stdio.h>
#include <stdlib.h>

#include "prom_parse.h"

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: prom-check FILE [NAME LABELS]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char *text = NULL;
    size_t cap = 0, len = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                return 1;
            }
            text = grown;
        }
        for (size_t i = 0; i < n; i++)
            text[len++] = chunk[i];
    }
    fclose(f);
    if (!text)
        text = calloc(1, 1);
    text[len] = '\0';
    prom_doc doc;
    char err[512];
    int rc = prom_parse(text, &doc, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "%s:%s\n", argv[1], err + 4); /* "line N: ..." -> "FILE:N: ..." */
        prom_doc_free(&doc);
        return 1;
    }
    if (argc == 4) {
        double v;
        rc = prom_get(&doc, argv[2], argv[3], &v);
        if (rc == 0)
            printf("%.17g\n", v);
        else
            fprintf(stderr, "%s: no sample %s{%s}\n", argv[1], argv[2], argv[3]);
        prom_doc_free(&doc);
        return rc == 0 ? 0 : 1;
    }
    printf("ok: %d families, %d samples\n", doc.nfamilies, doc.nsamples);
    prom_doc_free(&doc);
    return 0;
}
