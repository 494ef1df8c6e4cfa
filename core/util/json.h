/* json: small helpers around jansson shared by the modules that read JSON from outside
 * (broker/alpaca_json, feeds/http_json), for messages that name what a field holds. */
#ifndef APEX_UTIL_JSON_H
#define APEX_UTIL_JSON_H

#include <jansson.h>

/* What v is, for a message: "an object", "an array", "a string", "an integer", "a number",
 * "a boolean" or "null" (also for NULL). */
const char *json_type_text(const json_t *v);

#endif
