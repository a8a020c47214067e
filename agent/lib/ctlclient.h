/*
 * ctlclient.h - the command-line side of a control socket (emberctl,
 * ember-drain's commands): one request, one answer, read as JSON.
 *
 * Owns: nothing past the call.  Calls: ctlsock.h (the exchange), cJSON.
 * Prints its one-line errors on stderr: it serves programs' main().
 */
#ifndef EMBER_CTLCLIENT_H
#define EMBER_CTLCLIENT_H

#include <cJSON.h>

/* Sends the request line req to the socket at path and waits at most
 * timeout_ms for the answer.  Returns 0 with *ans the answer (a JSON object,
 * whose "ok" the caller looks at) and *resp its text, both the caller's to
 * free; or PROG_EXIT_UNREACHABLE after printing "PROG: why" on stderr when
 * `who` ("emberd") cannot be reached or its answer is not a JSON object. */
int ctlclient_call(const char *prog, const char *who, const char *path, const char *req,
                   int timeout_ms, cJSON **ans, char **resp);

/* The string member `key` of o, or "-" when it is absent or not a string. */
const char *ctlclient_str(const cJSON *o, const char *key);

#endif
