// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/narrow-mask-on-64bit: masks as wide as the value. */
#include <linux/fs.h>

static loff_t demo_next_block(struct inode *inode, loff_t start)
{
	size_t bsz = i_blocksize(inode);

	start = (start + bsz) & ~((u64)bsz - 1); /* ok: mm/narrow-mask-on-64bit */
	return start;
}

static u64 demo_align_down(u64 pos, u64 chunk)
{
	pos &= ~(chunk - 1); /* ok: mm/narrow-mask-on-64bit */
	return round_down(pos, chunk);
}

static unsigned long demo_cluster_start(unsigned long offset, unsigned int nr)
{
	return offset & ~(nr - 1); /* ok: mm/narrow-mask-on-64bit */
}
