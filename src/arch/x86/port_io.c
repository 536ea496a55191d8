/*
 * port_io.c: the host port access of `pass loc io:` (vm/passthru.h): the
 * x86 in/out instructions, allowed for the vCPU threads by ioperm.
 */
#include <stdint.h>
#include <sys/io.h>

#include "vm/passthru.h"

static uint32_t hw_in(uint16_t port, unsigned size)
{
    return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void hw_out(uint16_t port, uint32_t val, unsigned size)
{
    if (size == 1)
        outb((uint8_t)val, port);
    else if (size == 2)
        outw((uint16_t)val, port);
    else
        outl(val, port);
}

static const struct pass_port_hw hw = {ioperm, hw_in, hw_out};
const struct pass_port_hw *pass_port_hw = &hw;
