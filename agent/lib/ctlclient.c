/*
 * ctlclient.c - one request over a control socket, its answer as JSON.
 */
#include "ctlclient.h"

#include <stdio.h>
#include <stdlib.h>

#include "ctlsock.h"
#include "prog.h"

int
ctlclient_call(const char *prog, const char *who, const char *path, const char *req, int timeout_ms,
               cJSON **ans, char **resp)
{
    char err[512];

    if (ctlsock_request(path, who, req, timeout_ms, resp, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return PROG_EXIT_UNREACHABLE;
    }
    *ans = cJSON_Parse(*resp);
    if (!cJSON_IsObject(*ans)) {
        /* Not the daemon's answer: every answer is an object with "ok". */
        fprintf(stderr, "%s: unreadable answer from %s: %.200s\n", prog, who, *resp);
        cJSON_Delete(*ans);
        free(*resp);
        return PROG_EXIT_UNREACHABLE;
    }
    return 0;
}

const char *
ctlclient_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "-";
}
