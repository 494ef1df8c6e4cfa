/* argscan: reads a function's Lua 5.4 bytecode (lua_dump, stripped) and looks at every
 * instruction that can read the parameter's register. See argscan.h.
 *
 * A parameter is a local for the whole function, so temporaries and call frames are
 * always above it: it can only leave the function through an instruction naming its
 * register (MOVE to a call slot, SETFIELD of it into a table, RETURN1, SETUPVAL, ...) or
 * through a closure capturing it. Every opcode is classified below; an opcode this code
 * does not know (a future format) counts as a use, so the answer errs towards a fresh
 * table, never towards sharing one that escaped. */
#include "script/argscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The Lua 5.4 opcodes (lopcodes.h, unchanged through the 5.4 releases). */
enum {
    OP_MOVE,
    OP_LOADI,
    OP_LOADF,
    OP_LOADK,
    OP_LOADKX,
    OP_LOADFALSE,
    OP_LFALSESKIP,
    OP_LOADTRUE,
    OP_LOADNIL,
    OP_GETUPVAL,
    OP_SETUPVAL,
    OP_GETTABUP,
    OP_GETTABLE,
    OP_GETI,
    OP_GETFIELD,
    OP_SETTABUP,
    OP_SETTABLE,
    OP_SETI,
    OP_SETFIELD,
    OP_NEWTABLE,
    OP_SELF,
    OP_ADDI,
    OP_ADDK,
    OP_SUBK,
    OP_MULK,
    OP_MODK,
    OP_POWK,
    OP_DIVK,
    OP_IDIVK,
    OP_BANDK,
    OP_BORK,
    OP_BXORK,
    OP_SHRI,
    OP_SHLI,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_MOD,
    OP_POW,
    OP_DIV,
    OP_IDIV,
    OP_BAND,
    OP_BOR,
    OP_BXOR,
    OP_SHL,
    OP_SHR,
    OP_MMBIN,
    OP_MMBINI,
    OP_MMBINK,
    OP_UNM,
    OP_BNOT,
    OP_NOT,
    OP_LEN,
    OP_CONCAT,
    OP_CLOSE,
    OP_TBC,
    OP_JMP,
    OP_EQ,
    OP_LT,
    OP_LE,
    OP_EQK,
    OP_EQI,
    OP_LTI,
    OP_LEI,
    OP_GTI,
    OP_GEI,
    OP_TEST,
    OP_TESTSET,
    OP_CALL,
    OP_TAILCALL,
    OP_RETURN,
    OP_RETURN0,
    OP_RETURN1,
    OP_FORLOOP,
    OP_FORPREP,
    OP_TFORPREP,
    OP_TFORCALL,
    OP_TFORLOOP,
    OP_SETLIST,
    OP_CLOSURE,
    OP_VARARG,
    OP_VARARGPREP,
    OP_EXTRAARG,
};

/* Constant tags in a dump (lobject.h: type | variant << 4). */
enum { K_NIL = 0, K_FALSE = 1, K_TRUE = 17, K_INT = 3, K_FLT = 19, K_SHRSTR = 4, K_LNGSTR = 20 };

#define MAX_NESTING 250 /* Lua's own limit on nested functions is 200 */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    bool failed;
} dumpbuf;

static int writer(lua_State *L, const void *data, size_t len, void *ud)
{
    (void)L;
    dumpbuf *b = ud;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *grown = realloc(b->p, cap);
        if (!grown) {
            b->failed = true;
            return 1;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return 0;
}

typedef struct {
    const unsigned char *p, *end;
    bool bad;
} reader;

static const unsigned char *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *at = r->p;
    r->p += n;
    return at;
}

static unsigned byte(reader *r)
{
    const unsigned char *b = take(r, 1);
    return b ? *b : 0;
}

/* ldump.c's dumpSize: 7 bits a byte, most significant first, the last byte marked. */
static size_t varint(reader *r)
{
    size_t x = 0;
    for (int i = 0; i < 10; i++) {
        unsigned b = byte(r);
        if (r->bad)
            return 0;
        x = (x << 7) | (b & 0x7f);
        if (b & 0x80)
            return x;
    }
    r->bad = true;
    return 0;
}

/* Returns the string's bytes (NULL for none) and their count in *len. */
static const unsigned char *skip_string(reader *r, size_t *len)
{
    size_t n = varint(r); /* size + 1, 0 for none */
    *len = n > 0 ? n - 1 : 0;
    return n > 0 ? take(r, n - 1) : NULL;
}

typedef struct {
    const unsigned char *p; /* NULL: not a string constant */
    size_t n;
} kstring;

/* An array of n zeroed elements for the top function, n bounded by the bytes left (each
 * element takes at least one); NULL with r->bad set otherwise. */
static void *top_array(reader *r, size_t n, size_t size)
{
    void *a = n <= (size_t)(r->end - r->p) ? calloc(n ? n : 1, size) : NULL;
    if (!a)
        r->bad = true;
    return a;
}

typedef struct {
    const unsigned char *code; /* ncode instructions, 4 bytes each, host order */
    size_t ncode;
    unsigned numparams;
    /* for the top function: whether child proto i captures register `arg` */
    bool *captures;
    size_t nprotos;
    kstring *k; /* its constants, for the names of the fields read */
    size_t nk;
} proto_info;

/* Parses one function; fills *out for the top level (depth 0); for a child, sets
 * *captures when one of its upvalues is the parent's register `arg`. */
static void parse_function(reader *r, int depth, int arg, proto_info *out, bool *captures)
{
    if (depth > MAX_NESTING) {
        r->bad = true;
        return;
    }
    size_t len;
    skip_string(r, &len); /* source */
    varint(r);            /* linedefined */
    varint(r);            /* lastlinedefined */
    unsigned numparams = byte(r);
    byte(r); /* is_vararg */
    byte(r); /* maxstacksize */
    size_t ncode = varint(r);
    if (ncode > (size_t)(r->end - r->p) / 4) {
        r->bad = true;
        return;
    }
    const unsigned char *code = take(r, ncode * 4);
    size_t nk = varint(r);
    kstring *ks = NULL;
    if (depth == 0 && !r->bad) {
        if (!(ks = top_array(r, nk, sizeof *ks)))
            return;
        out->k = ks;
        out->nk = nk;
    }
    for (size_t i = 0; i < nk && !r->bad; i++) {
        switch (byte(r)) {
        case K_NIL:
        case K_FALSE:
        case K_TRUE:
            break;
        case K_INT:
        case K_FLT:
            take(r, 8);
            break;
        case K_SHRSTR:
        case K_LNGSTR: {
            const unsigned char *str = skip_string(r, &len);
            if (ks) {
                ks[i].p = str;
                ks[i].n = len;
            }
            break;
        }
        default:
            r->bad = true;
        }
    }
    size_t nup = varint(r);
    for (size_t i = 0; i < nup && !r->bad; i++) {
        unsigned instack = byte(r), idx = byte(r);
        byte(r); /* kind */
        if (captures && instack && (int)idx == arg)
            *captures = true;
    }
    size_t np = varint(r);
    bool *caps = NULL;
    if (depth == 0 && !r->bad) {
        if (!(caps = top_array(r, np, sizeof *caps)))
            return;
        out->code = code;
        out->ncode = ncode;
        out->numparams = numparams;
        out->captures = caps;
        out->nprotos = np;
    }
    for (size_t i = 0; i < np && !r->bad; i++)
        parse_function(r, depth + 1, arg, NULL, caps ? &caps[i] : NULL);
    /* Debug information: empty in a stripped dump, skipped all the same. */
    size_t nline = varint(r);
    take(r, nline);
    size_t nabs = varint(r);
    for (size_t i = 0; i < nabs && !r->bad; i++) {
        varint(r);
        varint(r);
    }
    size_t nloc = varint(r);
    for (size_t i = 0; i < nloc && !r->bad; i++) {
        skip_string(r, &len);
        varint(r);
        varint(r);
    }
    size_t nupn = varint(r);
    for (size_t i = 0; i < nupn && !r->bad; i++)
        skip_string(r, &len);
}

static bool in_range(unsigned reg, unsigned first, unsigned count)
{
    return reg >= first && reg - first < count;
}

/* Whether instruction i may use register reg other than to read a field of it or test
 * it; a closure's captures come from the child protos. */
static bool uses(uint32_t i, unsigned reg, const proto_info *pi)
{
    unsigned op = i & 0x7f, a = (i >> 7) & 0xff, k = (i >> 15) & 1, b = (i >> 16) & 0xff,
             c = (i >> 24) & 0xff, bx = i >> 15;
    switch (op) {
    case OP_LOADI:
    case OP_LOADF:
    case OP_LOADK:
    case OP_LOADKX:
    case OP_LOADFALSE:
    case OP_LFALSESKIP:
    case OP_LOADTRUE:
    case OP_LOADNIL:
    case OP_GETUPVAL:
    case OP_GETTABUP:
    case OP_NEWTABLE:
    case OP_CLOSE:
    case OP_JMP:
    case OP_RETURN0:
    case OP_VARARG:
    case OP_VARARGPREP:
    case OP_EXTRAARG:
        return false; /* write their A, or use no register */
    case OP_GETI:
    case OP_GETFIELD:
    case OP_TEST:
        return false; /* bar.close, bar[1], `if bar then`: reads that keep it private */
    case OP_GETTABLE:
        return c == reg; /* bar[k] is a read; t[bar] uses bar as a key */
    case OP_MOVE:
    case OP_ADDI:
    case OP_ADDK:
    case OP_SUBK:
    case OP_MULK:
    case OP_MODK:
    case OP_POWK:
    case OP_DIVK:
    case OP_IDIVK:
    case OP_BANDK:
    case OP_BORK:
    case OP_BXORK:
    case OP_SHRI:
    case OP_SHLI:
    case OP_UNM:
    case OP_BNOT:
    case OP_NOT:
    case OP_LEN:
    case OP_TESTSET:
        return b == reg;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_MOD:
    case OP_POW:
    case OP_DIV:
    case OP_IDIV:
    case OP_BAND:
    case OP_BOR:
    case OP_BXOR:
    case OP_SHL:
    case OP_SHR:
        return b == reg || c == reg;
    case OP_SETUPVAL:
    case OP_MMBINI:
    case OP_MMBINK:
    case OP_TBC:
    case OP_EQK:
    case OP_EQI:
    case OP_LTI:
    case OP_LEI:
    case OP_GTI:
    case OP_GEI:
    case OP_RETURN1:
        return a == reg;
    case OP_MMBIN:
    case OP_EQ:
    case OP_LT:
    case OP_LE:
        return a == reg || b == reg;
    case OP_SETTABUP:
        return !k && c == reg;
    case OP_SETI:
    case OP_SETFIELD:
        return a == reg || (!k && c == reg);
    case OP_SETTABLE:
        return a == reg || b == reg || (!k && c == reg);
    case OP_SELF:
        return b == reg || (!k && c == reg);
    case OP_CONCAT:
        return in_range(reg, a, b);
    case OP_CALL:
    case OP_TAILCALL:
        return b == 0 ? reg >= a : in_range(reg, a, b);
    case OP_RETURN:
        return b == 0 ? reg >= a : in_range(reg, a, b);
    case OP_SETLIST:
        return b == 0 ? reg >= a : in_range(reg, a, b + 1);
    case OP_FORLOOP:
    case OP_FORPREP:
    case OP_TFORPREP:
    case OP_TFORCALL:
    case OP_TFORLOOP:
        return in_range(reg, a, 5);
    case OP_CLOSURE:
        return bx >= pi->nprotos || pi->captures[bx];
    default:
        return true; /* not a 5.4 opcode this code knows */
    }
}

/* The fields of reg that instruction i reads, as bits of names (all of them for a key
 * known only at run time). */
static unsigned fields_read(uint32_t i, unsigned reg, const proto_info *pi,
                            const char *const *names, int nnames)
{
    unsigned op = i & 0x7f, b = (i >> 16) & 0xff, c = (i >> 24) & 0xff;
    unsigned all = nnames >= 32 ? ~0u : (1u << nnames) - 1;
    if (b != reg)
        return 0;
    if (op == OP_GETTABLE)
        return all; /* bar[k] */
    if (op != OP_GETFIELD)
        return 0; /* GETI: an integer key, never one of the fields */
    if (c >= pi->nk || !pi->k[c].p)
        return all;
    for (int f = 0; f < nnames && f < 32; f++)
        if (strlen(names[f]) == pi->k[c].n && memcmp(names[f], pi->k[c].p, pi->k[c].n) == 0)
            return 1u << f;
    return 0; /* a field the host never sets: always nil */
}

bool argscan_fields_only(lua_State *L, int idx, int arg, const char *const *names, int nnames,
                         unsigned *read)
{
    *read = 0;
    if (arg < 0 || arg > 255 || lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx) ||
        !lua_checkstack(L, 1))
        return false;
    dumpbuf b = {0};
    lua_pushvalue(L, idx);
    int rc = lua_dump(L, writer, &b, 1);
    lua_pop(L, 1);
    bool ok = false;
    proto_info pi = {0};
    if (rc == 0 && !b.failed) {
        static const unsigned char head[] = {0x1b, 'L',  'u',  'a',  0x54, 0, 0x19, 0x93,
                                             '\r', '\n', 0x1a, '\n', 4,    8, 8};
        reader r = {b.p, b.p + b.n, false};
        const unsigned char *h = take(&r, sizeof head);
        if (h && memcmp(h, head, sizeof head) == 0) {
            take(&r, 16); /* LUAC_INT and LUAC_NUM, checked by Lua itself on load */
            byte(&r);     /* the closure's number of upvalues */
            parse_function(&r, 0, arg, &pi, NULL);
            ok = !r.bad && pi.code && pi.numparams > (unsigned)arg;
            unsigned mask = 0;
            for (size_t i = 0; ok && i < pi.ncode; i++) {
                uint32_t ins;
                memcpy(&ins, pi.code + 4 * i, sizeof ins);
                if (uses(ins, (unsigned)arg, &pi))
                    ok = false;
                mask |= fields_read(ins, (unsigned)arg, &pi, names, nnames);
            }
            if (ok)
                *read = mask;
        }
    }
    free(pi.captures);
    free(pi.k);
    free(b.p);
    return ok;
}
