/* News (Market Data API v1beta1): the news stream's {"T":"n",...} messages and the body of
 * GET /v1beta1/news. Fields: https://docs.alpaca.markets/docs/streaming-real-time-news,
 * https://docs.alpaca.markets/reference/news-3. Headlines are text for people: a long one
 * is cut (at a character boundary), never refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"

/* Copies at most outlen-1 bytes of s, never half a UTF-8 character; control characters
 * (a newline in a headline would break a log line or a CSV row) become spaces. */
static void copy_text(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* s[n] continues a character: cut before the character starts */
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
    out[n] = '\0';
}

static int text_field(const aj_ctx *c, const json_t *obj, const char *key, bool required, char *out,
                      size_t outlen)
{
    const json_t *v = aj_get(obj, key);
    out[0] = '\0';
    if (!v)
        return required ? aj_fail(c, key, APEX_EINVAL, "required") : 0;
    if (!json_is_string(v))
        return aj_fail(c, key, APEX_EINVAL, "expected a string");
    copy_text(out, outlen, json_string_value(v));
    return 0;
}

static int news_symbols(const aj_ctx *c, const json_t *obj, alpaca_news *out)
{
    const json_t *arr = aj_get(obj, "symbols");
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return aj_fail(c, "symbols", APEX_EINVAL, "expected an array of symbols");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            char key[32];
            snprintf(key, sizeof key, "symbols[%zu]", i);
            return aj_fail(c, key, APEX_EINVAL, "expected a string");
        }
        const char *sym = json_string_value(v);
        size_t len = strlen(sym);
        if (out->nsymbols == ALPACA_NEWS_MAX_SYMBOLS || len >= SYMBOL_MAX ||
            !symbol_valid(sym, len))
            continue;
        memcpy(out->symbols[out->nsymbols++], sym, len + 1);
    }
    return 0;
}

static int decode_article(const aj_ctx *c, const json_t *obj, alpaca_news *out)
{
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(c, obj);
    rc = rc ? rc : aj_int(c, obj, "id", AJ_REQUIRED, &out->id);
    rc = rc ? rc : text_field(c, obj, "headline", true, out->headline, sizeof out->headline);
    rc = rc ? rc : aj_time(c, obj, "created_at", AJ_REQUIRED, &out->created_at);
    rc = rc ? rc : text_field(c, obj, "source", false, out->source, sizeof out->source);
    rc = rc ? rc : news_symbols(c, obj, out);
    return rc;
}

int alpaca_decode_news(const json_t *obj, alpaca_news *out, char *err, size_t errlen)
{
    aj_ctx c = {"news", err, errlen};
    return decode_article(&c, obj, out);
}

int alpaca_decode_news_page(const json_t *root, alpaca_news **out, int *n, char *page_token,
                            size_t page_token_len, char *err, size_t errlen)
{
    aj_ctx c = {"news response", err, errlen};
    char token[256];
    *out = NULL;
    *n = 0;
    int rc = aj_need_object(&c, root);
    rc = rc ? rc : aj_string(&c, root, "next_page_token", 0, token, sizeof token);
    if (rc != 0)
        return rc;
    const json_t *arr = aj_get(root, "news");
    if (arr && !json_is_array(arr))
        return aj_fail(&c, "news", APEX_EINVAL, "expected an array of articles");
    size_t count = arr ? json_array_size(arr) : 0;
    alpaca_news *v = count ? calloc(count, sizeof *v) : NULL;
    if (count && !v)
        return aj_fail(&c, NULL, APEX_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        char path[32];
        snprintf(path, sizeof path, "news[%zu]", i);
        aj_ctx ic = {path, err, errlen};
        rc = decode_article(&ic, json_array_get(arr, i), &v[i]);
        if (rc != 0) {
            free(v);
            return rc;
        }
    }
    if (page_token && page_token_len)
        snprintf(page_token, page_token_len, "%s", token);
    *out = v;
    *n = (int)count;
    return 0;
}
