// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/narrow-mask-on-64bit: 64-bit offsets rounded with narrow masks. */
#include <linux/fs.h>

static loff_t demo_next_block(struct inode *inode, loff_t start)
{
	size_t bsz = i_blocksize(inode);

	start = (start + bsz) & ~(bsz - 1); /* ruleid: mm/narrow-mask-on-64bit */
	return start;
}

static u64 demo_align_down(u64 pos, unsigned int chunk)
{
	pos &= ~(chunk - 1); /* ruleid: mm/narrow-mask-on-64bit */
	return pos;
}
