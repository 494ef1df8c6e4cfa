/* field_line: where a Lua file's table constructors write a field.
 *
 * The pipeline loader keeps values, not where they were written: by the time a module
 * refuses one of its params (at load, or at a hot reload) the pipeline table is gone. To
 * blame the right line, the file's text is read again with Lua's own lexical rules
 * (comments, short and long strings, long brackets) and the table constructors are
 * followed, so "strategy.params.period" is the `period = ...` inside `params = { ... }`
 * inside `strategy = { ... }`, never a `period` of the bias or one in a comment. */
#ifndef APEX_SCRIPT_FIELD_LINE_H
#define APEX_SCRIPT_FIELD_LINE_H

/* The line of the file at path where a table constructor writes the field dotted
 * ("strategy.params.fast": a field `fast = ...` or `["fast"] = ...` of the table written
 * as `params = { ... }` of the one written as `strategy = { ... }`, the first level of
 * keys being those of any outermost table of the file). When the file writes it more than
 * once, the last one (the one Lua keeps). 0 when no constructor writes it there (the value
 * was computed or built elsewhere) or the file cannot be read. */
int script_field_line(const char *path, const char *dotted);

#endif
