/* test_i8042.c: the keyboard controller driven the way Linux's i8042 and
 * atkbd drivers probe it, plus reset, Ctrl-Alt-Del and hostile sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/i8042.h"

#define DATA I8042_DATA_PORT
#define CMD I8042_CMD_PORT
#define STATUS I8042_CMD_PORT

#define STR_OBF 0x01
#define STR_SYS 0x04
#define STR_CMDDAT 0x08
#define STR_KEYLOCK 0x10

struct fixture {
	struct iobus bus;
	struct fake_irq irq;
	struct irq_line line;
	struct fake_vm vm;
	struct vm_ctl ctl;
	struct i8042 *k;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_irq_init(&f->irq, &f->line, I8042_KBD_IRQ);
	fake_vm_init(&f->vm, &f->ctl);
	f->k = i8042_new(&f->line, &f->ctl);
	assert_non_null(f->k);
	assert_int_equal(i8042_attach(f->k, &f->bus), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_free(f->k);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

/* Linux's i8042_wait_read + i8042_read_data: a byte must be there. */
static uint8_t read_byte(struct fixture *f)
{
	assert_int_equal(inb(&f->bus, STATUS) & STR_OBF, STR_OBF);
	return inb(&f->bus, DATA);
}

static void assert_empty(struct fixture *f)
{
	assert_int_equal(inb(&f->bus, STATUS) & STR_OBF, 0);
}

static void ctl_cmd(struct fixture *f, uint8_t c)
{
	assert_int_equal(inb(&f->bus, STATUS) & 0x02, 0); /* IBF clear */
	outb(&f->bus, CMD, c);
}

static void ctl_cmd_arg(struct fixture *f, uint8_t c, uint8_t arg)
{
	ctl_cmd(f, c);
	assert_int_equal(inb(&f->bus, STATUS) & STR_CMDDAT, STR_CMDDAT);
	outb(&f->bus, DATA, arg);
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(&f->bus, STATUS), STR_SYS | STR_KEYLOCK);
	assert_int_equal(inb(&f->bus, DATA), 0x00);
	assert_int_equal(f->irq.n, 0);
	assert_int_equal(f->vm.n, 0);
	assert_int_equal(pio_claimed(&f->bus, 0x61), 0);
	assert_int_equal(pio_claimed(&f->bus, 0x65), 0);
	assert_int_equal(pio_claimed(&f->bus, 0x63), 0);
	assert_int_equal(i8042_attach(f->k, &f->bus), -EBUSY);
}

/* drivers/input/serio/i8042.c: i8042_controller_check, _selftest, _init;
 * then drivers/input/keyboard/atkbd.c: atkbd_probe, atkbd_activate. */
static void test_linux_probe(void **state)
{
	struct fixture *f = *state;
	uint8_t ctr;

	/* i8042_flush: nothing pending. */
	assert_empty(f);

	/* Self-test. The default command byte has the keyboard interrupt on,
	 * so the reply comes with an IRQ 1 edge. */
	ctl_cmd(f, 0xAA);
	assert_int_equal(inb(&f->bus, STATUS), STR_OBF | STR_SYS | STR_CMDDAT | STR_KEYLOCK);
	assert_int_equal(read_byte(f), 0x55);
	assert_int_equal(f->irq.n, 2);
	assert_int_equal(f->irq.history[0], 1);
	assert_int_equal(f->irq.history[1], 0);
	assert_int_equal(f->irq.gsi_seen, I8042_KBD_IRQ);

	/* Read the CTR (twice: Linux compares). Not translating: direct mode. */
	ctl_cmd(f, 0x20);
	ctr = read_byte(f);
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f), ctr);
	assert_int_equal(ctr, 0x05);
	assert_int_equal(ctr & 0x40, 0);

	/* Interrupts off while setting up, keyboard clock on. */
	fake_irq_clear(&f->irq);
	ctr &= ~(0x01 | 0x02 | 0x10);
	ctl_cmd_arg(f, 0x60, ctr);
	assert_int_equal(inb(&f->bus, STATUS), STR_SYS | STR_KEYLOCK);
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f), 0x04);
	assert_int_equal(f->irq.n, 0); /* interrupt disabled: no edge */

	ctl_cmd(f, 0xAB); /* keyboard interface test */
	assert_int_equal(read_byte(f), 0x00);
	ctl_cmd(f, 0xAE); /* enable keyboard */
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f) & 0x10, 0);

	/* Keyboard interrupt on. */
	ctl_cmd_arg(f, 0x60, 0x05);
	assert_empty(f);
	assert_int_equal(f->irq.n, 0);

	/* atkbd: reset (ACK, then BAT OK), each byte its own edge. */
	outb(&f->bus, DATA, 0xFF);
	assert_int_equal(f->irq.rises, 1);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(f->irq.rises, 2);
	assert_int_equal(read_byte(f), 0xAA);
	assert_empty(f);
	assert_int_equal(f->irq.rises, 2);
	assert_int_equal(f->irq.level, 0);

	/* GETID: ACK AB 83. */
	outb(&f->bus, DATA, 0xF2);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(read_byte(f), 0xAB);
	assert_int_equal(read_byte(f), 0x83);
	assert_empty(f);

	/* SETLEDS + argument: ACK, ACK. */
	outb(&f->bus, DATA, 0xED);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0x00);
	assert_int_equal(read_byte(f), 0xFA);

	/* Get scan code set: ACK, 2. */
	outb(&f->bus, DATA, 0xF0);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0x00);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(read_byte(f), 0x02);

	/* Typematic rate + argument; enable scanning; echo. */
	outb(&f->bus, DATA, 0xF3);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0x20);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0xF4);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0xEE);
	assert_int_equal(read_byte(f), 0xEE);
	outb(&f->bus, DATA, 0xF8); /* set-3 command: acknowledged */
	assert_int_equal(read_byte(f), 0xFA);
	assert_empty(f);
	assert_int_equal(f->irq.rises, 15);
	assert_int_equal(f->vm.n, 0);
}

static void test_reset_line(void **state)
{
	struct fixture *f = *state;

	ctl_cmd(f, 0xFE); /* pulse reset: Linux reboot=k */
	assert_int_equal(f->vm.n, 1);
	assert_int_equal(f->vm.req[0], VM_REQ_RESET);
	ctl_cmd(f, 0xFF); /* pulses nothing */
	ctl_cmd(f, 0xF1); /* bit 0 set: not the reset line */
	assert_int_equal(f->vm.n, 1);
	ctl_cmd(f, 0xF0); /* pulses all four, reset among them */
	assert_int_equal(f->vm.n, 2);
	assert_int_equal(f->vm.req[1], VM_REQ_RESET);

	/* Output port: read, write with reset high (A20 gate), read back. */
	ctl_cmd(f, 0xD0);
	assert_int_equal(read_byte(f), 0x03);
	ctl_cmd_arg(f, 0xD1, 0xDF);
	assert_int_equal(f->vm.n, 2);
	ctl_cmd(f, 0xD0);
	assert_int_equal(read_byte(f), 0xDF);
	/* Writing bit 0 low holds the CPU in reset. */
	ctl_cmd_arg(f, 0xD1, 0xDE);
	assert_int_equal(f->vm.n, 3);
	assert_int_equal(f->vm.req[2], VM_REQ_RESET);
}

static const uint8_t cad[] = { 0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14 };

static void test_ctrl_alt_del(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(f->irq.rises, 1);
	assert_int_equal(f->irq.level, 0); /* an edge, not a level */
	for (unsigned i = 0; i < sizeof(cad); i++) {
		assert_int_equal(read_byte(f), cad[i]);
		/* Each further byte arrives with its own edge. */
		assert_int_equal(f->irq.rises, i + 2 <= sizeof(cad) ? i + 2 : sizeof(cad));
	}
	assert_empty(f);
	assert_int_equal(f->irq.rises, sizeof(cad));
	assert_int_equal(f->vm.n, 0);
}

static void test_ctrl_alt_del_refused(void **state)
{
	struct fixture *f = *state;

	/* Scanning disabled by the guest: the keys would be lost. */
	outb(&f->bus, DATA, 0xF5);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), -EAGAIN);
	assert_empty(f);
	outb(&f->bus, DATA, 0xF4);
	assert_int_equal(read_byte(f), 0xFA);

	/* Keyboard interface disabled: the keyboard holds the bytes; a second
	 * sequence does not fit and nothing of it is queued. */
	ctl_cmd(f, 0xAD);
	fake_irq_clear(&f->irq);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_empty(f);
	assert_int_equal(f->irq.n, 0);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), -ENOSPC);
	ctl_cmd(f, 0xAE);
	assert_int_equal(f->irq.rises, 1);
	for (unsigned i = 0; i < sizeof(cad); i++)
		assert_int_equal(read_byte(f), cad[i]);
	assert_empty(f);
}

static void test_irq_follows_command_byte(void **state)
{
	struct fixture *f = *state;

	ctl_cmd_arg(f, 0x60, 0x04); /* keyboard interrupt off */
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(f->irq.n, 0);
	assert_int_equal(inb(&f->bus, STATUS) & STR_OBF, STR_OBF);
	/* Enabling it with a byte waiting raises IRQ 1 once. */
	ctl_cmd_arg(f, 0x60, 0x05);
	assert_int_equal(f->irq.rises, 1);
	ctl_cmd_arg(f, 0x60, 0x05); /* already on: no new edge */
	assert_int_equal(f->irq.rises, 1);
	assert_int_equal(read_byte(f), 0x14);
	assert_int_equal(f->irq.rises, 2);
}

static void test_hostile_sequences(void **state)
{
	struct fixture *f = *state;

	/* Wider reads: our byte in the low 8 bits, empty bus above. */
	ctl_cmd(f, 0xAA);
	assert_int_equal(inl(&f->bus, STATUS), 0xFFFFFF00 | STR_OBF | STR_SYS | STR_CMDDAT | STR_KEYLOCK);
	assert_int_equal(inw(&f->bus, DATA), 0xFF55);
	/* An empty buffer reads the last byte again and raises nothing. */
	fake_irq_clear(&f->irq);
	assert_int_equal(inb(&f->bus, DATA), 0x55);
	assert_int_equal(f->irq.n, 0);
	/* A word write takes the low byte. */
	outw(&f->bus, CMD, 0x1220);
	assert_int_equal(read_byte(f), 0x05);

	/* No AUX port: data for it is swallowed, the interface test fails. */
	ctl_cmd_arg(f, 0xD3, 0x5A);
	assert_empty(f);
	ctl_cmd_arg(f, 0xD4, 0xFF);
	assert_empty(f);
	ctl_cmd(f, 0xA9);
	assert_int_equal(read_byte(f), 0x02);
	ctl_cmd(f, 0xA7);
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f) & 0x20, 0x20);
	ctl_cmd(f, 0xA8);
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f) & 0x20, 0x00);

	/* Unknown commands do nothing. */
	ctl_cmd(f, 0x01);
	ctl_cmd(f, 0xC5);
	assert_empty(f);
	assert_int_equal(f->vm.n, 0);

	/* A guest that never reads: replies are bounded (1 + 4 queued). */
	for (unsigned i = 0; i < 50; i++)
		ctl_cmd(f, 0x20);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(read_byte(f), 0x05);
	assert_empty(f);

	/* Controller RAM beyond the command byte. */
	ctl_cmd_arg(f, 0x61, 0x77);
	ctl_cmd(f, 0x21);
	assert_int_equal(read_byte(f), 0x77);
	ctl_cmd(f, 0x20);
	assert_int_equal(read_byte(f), 0x05);

	/* D2: a byte as if from the keyboard. */
	ctl_cmd_arg(f, 0xD2, 0x1C);
	assert_int_equal(read_byte(f), 0x1C);

	/* A command in place of an argument starts the new command. */
	outb(&f->bus, DATA, 0xED);
	assert_int_equal(read_byte(f), 0xFA);
	outb(&f->bus, DATA, 0xF2);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(read_byte(f), 0xAB);
	assert_int_equal(read_byte(f), 0x83);
	/* Resend repeats the last byte. */
	outb(&f->bus, DATA, 0xFE);
	assert_int_equal(read_byte(f), 0x83);
	/* A keyboard command clears what the keyboard still held. */
	ctl_cmd(f, 0xAD);
	outb(&f->bus, DATA, 0xF2);
	outb(&f->bus, DATA, 0xF4);
	ctl_cmd(f, 0xAE);
	assert_int_equal(read_byte(f), 0xFA);
	assert_empty(f);
	/* Flooding the keyboard with commands while it is held never grows. */
	ctl_cmd(f, 0xAD);
	for (unsigned i = 0; i < 100; i++)
		outb(&f->bus, DATA, 0xFF);
	ctl_cmd(f, 0xAE);
	assert_int_equal(read_byte(f), 0xFA);
	assert_int_equal(read_byte(f), 0xAA);
	assert_empty(f);
	assert_int_equal(f->vm.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_follows_command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_sequences, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
