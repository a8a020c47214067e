/*
 * fuzz_cmd.c - cmd_parse() and cmd_parse_request() on arbitrary payloads.
 *
 * Input layout: the first byte picks the command name handed to cmd_parse()
 * (the last level of an MQTT topic .../cmd/NAME, so any string may arrive)
 * and whether it came over MQTT (remote) or the control socket; the rest is
 * the payload, exactly as received: not NUL-terminated, possibly longer than
 * CMD_MAX_PAYLOAD.  The same payload also goes through cmd_parse_request(),
 * as a line read from the control socket.
 *
 * A command that parses is acted on without further checks (an alarm or a
 * zone is looked up by name, a duration arms a timer), so the checks below
 * are the promises cmd.h makes.
 */
#include <stdbool.h>
#include <string.h>

#include "cmd.h"
#include "fuzz.h"

#define ERRLEN 256

static const char *const names[] = {"ack",    "shelve", "unshelve", "test", "status",
                                    "alarms", "reload", "ACK",      "",     "ack/x"};

static bool
terminated(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

static void
check(int rc, const struct cmd *c, const char *name, bool remote, const char *err)
{
    FUZZ_CHECK(terminated(err, ERRLEN));
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(err[0] != '\0'); /* a refusal says why (it is logged) */
        return;
    }
    FUZZ_CHECK(c->kind >= CMD_ACK && c->kind <= CMD_RELOAD);
    FUZZ_CHECK(!remote || c->kind <= CMD_TEST); /* MQTT cannot reload or read status */
    if (name != NULL)
        FUZZ_CHECK(strcmp(cmd_name(c->kind), name) == 0);
    FUZZ_CHECK(terminated(c->by, sizeof(c->by)) && terminated(c->alarm, sizeof(c->alarm)) &&
               terminated(c->zone, sizeof(c->zone)));
    FUZZ_CHECK(c->by[0] == '\0' || name_valid(c->by));
    switch (c->kind) {
    case CMD_ACK:
    case CMD_UNSHELVE:
        FUZZ_CHECK(name_valid(c->alarm));
        break;
    case CMD_SHELVE:
        FUZZ_CHECK(name_valid(c->alarm));
        FUZZ_CHECK(c->duration_ms >= 1000 && c->duration_ms <= CMD_SHELVE_MAX_MS);
        break;
    case CMD_TEST:
        FUZZ_CHECK(name_valid(c->zone));
        FUZZ_CHECK(c->duration_ms >= 1000 && c->duration_ms <= CMD_TEST_MAX_MS);
        break;
    default:
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name, *payload;
    size_t len;
    bool remote;
    struct cmd c;
    char *err;
    int rc;

    if (size < 1)
        return 0;
    name = names[(data[0] >> 1) % (sizeof(names) / sizeof(names[0]))];
    remote = data[0] & 1;
    payload = (const char *)data + 1;
    len = size - 1;
    /* On the heap, so ASan sees a write past ERRLEN. */
    err = malloc(ERRLEN);
    if (err == NULL)
        abort();

    memset(&c, 0xA5, sizeof(c));
    err[0] = '\0';
    rc = cmd_parse(name, payload, len, remote, &c, err, ERRLEN);
    check(rc, &c, name, remote, err);

    memset(&c, 0xA5, sizeof(c));
    err[0] = '\0';
    rc = cmd_parse_request(payload, len, &c, err, ERRLEN);
    check(rc, &c, NULL, false, err);

    free(err);
    return 0;
}
