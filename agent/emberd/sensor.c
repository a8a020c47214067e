/*
 * sensor.c - reading quality state machine.
 */
#include "sensor.h"

void
sensor_init(struct sensor_state *s)
{
    *s = (struct sensor_state){.quality = Q_STALE};
}

bool
sensor_update(struct sensor_state *s, enum poll_status st, double value, int comms_lost_after,
              int64_t now_ms)
{
    enum quality before = s->quality;

    s->ts_ms = now_ms;
    switch (st) {
    case POLL_OK:
        s->fails = 0;
        s->quality = Q_GOOD;
        s->has_value = true;
        s->value = value;
        s->has_good = true;
        s->last_good = value;
        s->last_good_ms = now_ms;
        break;
    case POLL_BAD_VALUE:
    case POLL_EXCEPTION:
        s->fails = 0;
        s->quality = Q_BAD;
        s->has_value = false;
        break;
    case POLL_FAILED:
        if (s->fails < 1000000) /* saturate: only the threshold matters */
            s->fails++;
        if (s->fails >= comms_lost_after) {
            s->quality = Q_COMMS_LOST;
            s->has_value = false;
        } else {
            s->quality = Q_STALE;
            s->has_value = s->has_good;
            s->value = s->last_good;
        }
        break;
    }
    return s->quality != before;
}

const char *
quality_name(enum quality q)
{
    static const char *names[] = {"good", "stale", "comms_lost", "bad"};
    return names[q];
}
