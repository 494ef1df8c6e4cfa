/* apex-config-doc: prints or refreshes the docs generated from the schema table.
 *
 *   apex-config-doc markdown [BLOCK]   print the markdown blocks (or one)
 *   apex-config-doc lua                print the Lua annotation block
 *   apex-config-doc update FILE...     rewrite the generated blocks in FILEs in place
 *   apex-config-doc check FILE...      exit 1 when a FILE's blocks differ from the table
 *
 * FILEs ending in .lua are Lua (types/apex.lua), others markdown (docs/configuration.md).
 * `make config-docs` runs update; ctest runs check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_doc.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(s, cap);
            if (!t) {
                free(s);
                fclose(f);
                return NULL;
            }
            s = t;
        }
        memcpy(s + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!s)
        s = calloc(1, 1);
    else
        s[len] = '\0';
    return s;
}

/* The 1-based line where a and b first differ. */
static int first_difference(const char *a, const char *b)
{
    int line = 1;
    for (; *a && *a == *b; a++, b++)
        line += *a == '\n';
    return line;
}

static int usage(void)
{
    fprintf(stderr, "usage: apex-config-doc markdown [BLOCK] | lua | update FILE... | "
                    "check FILE...\n");
    return 2;
}

static int print_blocks(config_doc_kind kind, const char *only)
{
    const char *const *names = config_doc_block_names(kind);
    for (int i = 0; names[i]; i++) {
        if (only && strcmp(only, names[i]) != 0)
            continue;
        char *body = config_doc_block(kind, names[i]);
        if (!body)
            return 1;
        if (kind == CONFIG_DOC_MARKDOWN)
            printf("### %s\n\n", names[i]);
        fputs(body, stdout);
        printf("\n");
        free(body);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "markdown") == 0)
        return print_blocks(CONFIG_DOC_MARKDOWN, argc > 2 ? argv[2] : NULL);
    if (strcmp(argv[1], "lua") == 0)
        return print_blocks(CONFIG_DOC_LUA, NULL);
    bool update = strcmp(argv[1], "update") == 0;
    if ((!update && strcmp(argv[1], "check") != 0) || argc < 3)
        return usage();
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        char *text = read_all(argv[i]), err[512];
        if (!text) {
            fprintf(stderr, "%s: cannot read it\n", argv[i]);
            rc = 1;
            continue;
        }
        char *fresh =
            config_doc_update(config_doc_kind_of(argv[i]), argv[i], text, err, sizeof err);
        if (!fresh) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        } else if (strcmp(fresh, text) != 0) {
            if (update) {
                FILE *f = fopen(argv[i], "wb");
                if (!f || fputs(fresh, f) < 0 || fclose(f) != 0) {
                    fprintf(stderr, "%s: cannot write it\n", argv[i]);
                    rc = 1;
                } else
                    printf("%s: generated blocks updated\n", argv[i]);
            } else {
                fprintf(stderr,
                        "%s:%d: a generated block differs from core/config/schema.c; run "
                        "`make config-docs` and commit the result (edit the schema, not the "
                        "generated text)\n",
                        argv[i], first_difference(text, fresh));
                rc = 1;
            }
        }
        free(fresh);
        free(text);
    }
    return rc;
}
