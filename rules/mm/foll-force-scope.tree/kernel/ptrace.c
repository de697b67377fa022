// SPDX-License-Identifier: GPL-2.0
/* A debugger peek, written for this fixture. */
#include <linux/mm.h>

static int demo_peek_word(struct task_struct *child, unsigned long addr, unsigned long *val)
{
	int copied;

	copied = ptrace_access_vm(child, addr, val, sizeof(*val), 0);
	return copied == sizeof(*val) ? 0 : -EIO;
}
