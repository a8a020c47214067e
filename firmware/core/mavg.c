/*
 * mavg.c - moving average with a running sum.
 *
 * The sum is updated by subtracting the sample that leaves the window, so a
 * push costs the same for any window.  Sixteen int16 samples cannot
 * overflow the int32 sum.
 */
#include "mavg.h"

void
mavg_init(struct mavg *f, unsigned len)
{
    if (len < 1)
        len = 1;
    if (len > MAVG_MAX)
        len = MAVG_MAX;
    f->len = (uint8_t)len;
    mavg_reset(f);
}

void
mavg_reset(struct mavg *f)
{
    f->sum = 0;
    f->n = 0;
    f->pos = 0;
}

int16_t
mavg_push(struct mavg *f, int16_t x)
{
    int32_t half;

    if (f->n == f->len)
        f->sum -= f->v[f->pos];
    else
        f->n++;
    f->v[f->pos] = x;
    f->sum += x;
    f->pos = (uint8_t)((f->pos + 1) % f->len);
    half = f->n / 2;
    return (int16_t)(f->sum >= 0 ? (f->sum + half) / f->n : (f->sum - half) / f->n);
}

unsigned
mavg_count(const struct mavg *f)
{
    return f->n;
}
