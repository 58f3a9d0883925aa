// SPDX-License-Identifier: GPL-2.0

#include <linux/spinlock.h>

unsigned long rust_helper_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);

	return flags;
}

void rust_helper_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

bool rust_helper_spin_trylock_irqsave(spinlock_t *lock, unsigned long *flags)
{
	return spin_trylock_irqsave(lock, *flags);
}

/*
 * Whether the current task holds @lock. Known on PREEMPT_RT, where a spinlock_t
 * is an rt_mutex with an owner (whose lowest bit says whether it has waiters);
 * false elsewhere, where a holder runs with interrupts disabled instead.
 */
bool rust_helper_spin_lock_held_by_current(spinlock_t *lock)
{
#ifdef CONFIG_PREEMPT_RT
	unsigned long owner = (unsigned long)READ_ONCE(lock->lock.owner);

	return (owner & ~1UL) == (unsigned long)current;
#else
	return false;
#endif
}

unsigned long rust_helper_spin_lock_irqsave_nested(spinlock_t *lock,
						   unsigned int subclass)
{
	unsigned long flags;

	spin_lock_irqsave_nested(lock, flags, subclass);

	return flags;
}
