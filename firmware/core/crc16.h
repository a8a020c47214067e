/*
 * crc16.h - CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF).
 */
#ifndef EMBER_CRC16_H
#define EMBER_CRC16_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC of len bytes at buf.  On the wire the low byte goes first. */
uint16_t crc16(const uint8_t *buf, size_t len);

#endif
