/*
 * cfgfile.h - INI files through inih, with file:line on every error.
 *
 * inih calls the handler once per "key = value" line.  We feed it through our
 * own line reader so the handler knows the current line number and the line
 * of the enclosing [section] header, and so over-long lines are an error
 * instead of being split silently.
 */
#ifndef EMBER_CFGFILE_H
#define EMBER_CFGFILE_H

#include <stdarg.h>
#include <stddef.h>

/* Collected error text: one "file:line: message" per line. */
struct cfgerr {
    char *text;
    size_t len;
    int count;
};

struct cfgfile {
    const char *path;
    int line;         /* line of the key being handled */
    int section_line; /* line of the last [section] header */
    struct cfgerr *err;
    /* Called for every key; return 0 to continue (errors are recorded with cfgfile_error). */
    void (*key)(struct cfgfile *cf, const char *section, const char *name, const char *value);
    void *user;
    /* NULL-terminated names of sections that may appear only once ("agent",
     * "mqtt"): a second header is an error naming both lines.  NULL: none. */
    const char *const *singletons;
};

/* Parses cf->path, calling cf->key for every key.  Returns 0 or -errno when
 * the file cannot be read or is not a regular file (recorded in cf->err;
 * a FIFO is refused without waiting for a writer).  Syntax errors and a
 * repeated singleton section are recorded and parsing continues, so one
 * run reports every mistake.  A UTF-8 byte order mark is skipped. */
int cfgfile_parse(struct cfgfile *cf);

/* Records "path:line: message" using the current key's line. */
void cfgfile_error(struct cfgfile *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, at an explicit line (e.g. a section header after parsing). */
void cfgerr_add(struct cfgerr *err, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfgerr_vadd(struct cfgerr *err, const char *path, int line, const char *fmt, va_list ap);
void cfgerr_free(struct cfgerr *err);
/* Copies err's first error (its first line, without the newline) into buf;
 * a line too long for buf is cut and ends with "[cut at N of M bytes]".
 * An empty string when there is no error. */
void cfgerr_first(const struct cfgerr *err, char *buf, size_t len);
/* A buffer for cfgerr_first() that holds a first error naming a long path. */
#define CFG_FIRST_MAX 4096

/* Splits "bus rs485" into kind "bus" and name "rs485".  Returns 0, or -EINVAL
 * when there is no name.  kind and name point into buf. */
int cfgfile_split_section(const char *section, char *buf, size_t len, const char **kind,
                          const char **name);

/* cfgfile_split_section() for the key being handled, with the name checked
 * (name_valid()).  Returns 0; -EINVAL when there is no name (nothing is
 * recorded: the caller says which sections it expects); -EDOM after
 * recording that the name is not valid. */
int cfgfile_named_section(struct cfgfile *cf, const char *section, char *buf, size_t len,
                          const char **kind, const char **name);

/* Parses cf->path (cfgfile_parse()) and then, when the file could be read,
 * calls validate(cf->user, cf->err) for the checks across sections.
 * Returns 0, the -errno of a file that cannot be read, or -EINVAL when
 * either recorded an error. */
int cfgfile_load(struct cfgfile *cf, void (*validate)(void *user, struct cfgerr *err));


/*
 * Directive tables (STYLE: name, type, bounds, target, default): each section
 * kind lists its keys once; cfgfile_apply() parses, range-checks and stores a
 * value, reporting "file:line: [section] key: problem".
 */
enum cfg_type {
    CFG_NAME,  /* char[NAME_MAX_LEN + 1], [A-Za-z0-9_.-] */
    CFG_STR,   /* char *, strdup'd */
    CFG_PATH,  /* char *, relative to the file's directory */
    CFG_INT,   /* int within [min, max] */
    CFG_DUR,   /* int64_t milliseconds within [min, max] */
    CFG_BOOL,  /* bool */
    CFG_ENUM,  /* int index into names[] */
    CFG_FLOAT, /* double */
    CFG_MODE,  /* int, octal file permissions (0660), within [min, max] */
};

/* What a reload does with a changed value: apply it, or refuse the reload
 * and name the key (the running process keeps the old configuration). */
enum cfg_reload { CFG_APPLY = 0, CFG_RESTART = 1 };

struct cfg_directive {
    const char *key;
    enum cfg_type type;
    size_t offset;
    long long min, max;
    const char *const *names; /* CFG_ENUM: NULL-terminated */
    const char *def;          /* default, written as in a file; NULL: none (zero) */
    enum cfg_reload reload;
};

/* One table row: the key, its type and the offset of its field, then only
 * what differs from zero (.min and .max, .names, .def, .reload):
 *   CFG_ROW("vote", CFG_INT, offsetof(struct site, vote), .min = 1, .max = 64)
 */
#define CFG_ROW(k, t, off, ...) {.key = (k), .type = (t), .offset = (off), __VA_ARGS__}

/* Finds `key` in the table and stores it into `target`.  Returns 0 when
 * stored, 1 when the key is not in the table (the caller may handle it or
 * report it), -EINVAL after recording an error. */
int cfgfile_apply(struct cfgfile *cf, const char *section, const struct cfg_directive *table,
                  size_t n, void *target, const char *key, const char *value);

/* Reads only "[section] key" (key = d->key) of the file at path into
 * target, through the table row d, so the value is checked and resolved (a
 * relative CFG_PATH) exactly as in the program's full parse; d->offset is
 * the offset into target.  Nothing else in the file is interpreted, though
 * syntax errors anywhere are reported.  For a tool that needs one setting
 * of another program's file (emberctl: [agent] control).  Returns 1 when
 * stored, 0 when the key is absent (target untouched), -errno when the
 * file cannot be read, -EINVAL after recording errors in err. */
int cfgfile_read_key(const char *path, const char *section, const struct cfg_directive *d,
                     void *target, struct cfgerr *err);

/* The items of one kind of named section ("[bus NAME]"): an array of
 * structs whose first member is the name (char[]) and which carry an int
 * `line` (of the section header) at line_off. */
struct cfg_sections {
    void **base; /* the array; grown with realloc unless cap is NULL */
    int *n;      /* items in use */
    int *cap;    /* allocated length; NULL: *base already holds max items */
    int max;     /* the most items allowed; 0: unbounded (cap not NULL) */
    size_t size, line_off;
    const struct cfg_directive *table; /* defaults of a new item; NULL: zeroes */
    size_t ntable;
};

/* Finds or creates the item `name` of the section being parsed.  Keys of one
 * section come one after another, so the last item is tried first; a new
 * header with the name of an earlier one is "[section] defined twice (first
 * at line N)", one past max "[section]: too many sections of this kind
 * (max N)", both recorded, and NULL is returned.  A new item starts from the
 * table's defaults.  The item is valid until the next call. */
void *cfgfile_section_item(struct cfgfile *cf, const char *section, const struct cfg_sections *sa,
                           const char *name);

/* Index of the item called `name` in an array of n structs of `size` bytes
 * whose first member is the name, or -1. */
int cfgfile_item_find(const void *base, int n, size_t size, const char *name);

/* Stores every row's default (def) into `target`, through the same parser as
 * a value in `path` (so relative default paths resolve the same way).
 * Returns 0, or -EINVAL when a default does not parse (a table bug, recorded
 * in err). */
int cfgfile_defaults(const char *path, const struct cfg_directive *table, size_t n, void *target,
                     struct cfgerr *err);

/* Frees every CFG_STR and CFG_PATH field of target that the table stores
 * (what cfgfile_apply() and cfgfile_defaults() allocate) and sets it to
 * NULL, so a loader's free function follows its table and a new string key
 * cannot leak.  Fields outside the table remain the caller's to free. */
void cfgfile_free_strings(const struct cfg_directive *table, size_t n, void *target);

/* True when the row's field holds the same value in a and b (strings by
 * content, NULL equal only to NULL). */
int cfgfile_field_equal(const struct cfg_directive *d, const void *a, const void *b);

/* The first key of class CFG_RESTART whose value differs between a and b,
 * or NULL.  A reload refuses such a change and names the key. */
const char *cfgfile_restart_key(const struct cfg_directive *table, size_t n, const void *a,
                                const void *b);

#endif
