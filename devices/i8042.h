/* i8042.h: PC keyboard controller with a keyboard attached (ports 0x60 and
 * 0x64, IRQ 1). See i8042.c. */
#pragma once
#include "devices/dev.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64 /* status on read, command on write */
#define I8042_KBD_IRQ 1

struct i8042;

/* kbd_irq and vm are copied; vm receives VM_REQ_RESET when the guest pulses
 * the reset line. Returns NULL with errno set on allocation failure. */
struct i8042 *i8042_new(const struct irq_line *kbd_irq, const struct vm_ctl *vm);

/* Registers ports 0x60 ("i8042-data") and 0x64 ("i8042-cmd").
 * 0, -EBUSY if already attached, or iobus_register's error. */
int i8042_attach(struct i8042 *k, struct iobus *bus);

/* Presses and releases Ctrl-Alt-Del on the keyboard: queues the scan code
 * set 2 bytes 14 11 E0 71 (make) E0 F0 71 F0 11 F0 14 (break) and raises
 * IRQ 1. Linux's atkbd turns it into ctrl_alt_del(). All or nothing:
 * -ENOSPC when the keyboard's buffer lacks room for the 11 bytes, -EAGAIN
 * while the guest has disabled keyboard scanning (command 0xF5), as a real
 * keyboard would then drop the keys. */
int i8042_send_ctrl_alt_del(struct i8042 *k);

/* Unregisters the ports (call before iobus_destroy, with no vCPU running) and
 * frees. NULL is a no-op. */
void i8042_free(struct i8042 *k);
