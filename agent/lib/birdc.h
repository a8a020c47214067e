/*
 * birdc.h - a client of BIRD 2's control socket (the protocol birdc speaks).
 *
 * One command per connection: connect to the unix socket, read BIRD's
 * greeting ("0001 BIRD 2.0.12 ready."), send the command line, read the
 * reply up to its last line, close.  Each reply line is "DDDD-text" (more
 * follow), "DDDD text" (the last) or " text" (continuing the previous
 * code).  Codes 0xxx-2xxx are success and data, 8xxx a run-time refusal
 * ("8003 No protocols match"), 9xxx a parse error.
 */
#ifndef EMBER_BIRDC_H
#define EMBER_BIRDC_H

#include <stdint.h>

/* A reply: its lines with the code of each (continuations carry the code of
 * the line they continue), the final code and the final line's text. */
struct birdc_reply {
    int code;   /* of the last line */
    char *text; /* every line as "DDDD text\n", NUL-terminated, malloc'd */
    char last[200];
};

/* Sends `cmd` to the BIRD control socket at `path` within timeout_ms.
 * Returns 0 with *r filled (free with birdc_reply_free; BIRD may still
 * have refused: r->code >= 8000), or -errno: -ENOENT / -ECONNREFUSED when no
 * BIRD listens there, -EACCES, -ETIMEDOUT, -EPROTO when the answer is not
 * BIRD's protocol. */
int birdc_command(const char *path, int64_t timeout_ms, const char *cmd, struct birdc_reply *r);
void birdc_reply_free(struct birdc_reply *r);

/* True when a final code means BIRD did what was asked. */
static inline int
birdc_ok(int code)
{
    return code >= 0 && code < 8000;
}

#endif
