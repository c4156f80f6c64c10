//! A bounded pool of reusable buffers, shared by the runtime's workers: the render buffers
//! of encoding jobs ([`crate::row::RenderedRows::pooled`]) and the buffers behind their
//! records ([`crate::encoder::RecordBatch`]). A reused buffer is mapped and warm in the
//! caches already; a fresh one costs the allocator new pages for every job.

use std::sync::{Mutex, PoisonError};

/// Items kept for reuse, bounded in number, in the size of one item and in total size.
/// Sizes are whatever the caller measures (usually a capacity in bytes).
pub(crate) struct Pool<T> {
    kept: Mutex<Kept<T>>,
    max_count: usize,
    max_item: usize,
    max_total: usize,
}

struct Kept<T> {
    /// Each item with its size when it was given.
    items: Vec<(T, usize)>,
    /// The sum of those sizes.
    total: usize,
}

impl<T> Pool<T> {
    /// A pool that keeps at most `max_count` items, none larger than `max_item`, at most
    /// `max_total` in all.
    pub(crate) const fn new(max_count: usize, max_item: usize, max_total: usize) -> Self {
        Pool {
            kept: Mutex::new(Kept {
                items: Vec::new(),
                total: 0,
            }),
            max_count,
            max_item,
            max_total,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept<T>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A kept item for which `fits` holds, if any.
    pub(crate) fn take(&self, fits: impl Fn(&T) -> bool) -> Option<T> {
        let mut kept = self.lock();
        let i = kept.items.iter().position(|(item, _)| fits(item))?;
        let (item, size) = kept.items.swap_remove(i);
        kept.total -= size;
        Some(item)
    }

    /// Keeps `item` (which the caller cleared) of `size` when the limits allow; else drops
    /// it.
    pub(crate) fn give(&self, item: T, size: usize) {
        if size > self.max_item {
            return;
        }
        let mut kept = self.lock();
        if kept.items.len() >= self.max_count || kept.total + size > self.max_total {
            return;
        }
        kept.total += size;
        kept.items.push((item, size));
    }

    /// (items kept, their total size).
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.items.len(), kept.total)
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn limits_and_fit() {
        let pool: Pool<&str> = Pool::new(3, 10, 20);
        pool.give("too big", 11);
        assert_eq!(pool.held(), (0, 0));
        pool.give("a", 8);
        pool.give("b", 8);
        pool.give("over the total", 5);
        assert_eq!(pool.held(), (2, 16));
        pool.give("c", 4);
        pool.give("over the count", 1);
        assert_eq!(pool.held(), (3, 20));
        assert_eq!(pool.take(|s| *s == "b"), Some("b"));
        assert_eq!(pool.held(), (2, 12));
        assert_eq!(pool.take(|s| s.starts_with('z')), None);
        assert!(pool.take(|_| true).is_some());
        assert!(pool.take(|_| true).is_some());
        assert_eq!(pool.held(), (0, 0));
        assert_eq!(pool.take(|_| true), None);
    }
}
