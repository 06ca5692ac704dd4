//! Fetched images kept in memory, bounded by count and by bytes: the least
//! recently served go first.

use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::Arc;

use bytes::Bytes;
use lru::LruCache;

/// An image the relay fetched and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its sniffed type (`image/png`, `image/jpeg`, `image/gif`, `image/webp`).
    pub mime: &'static str,
    /// Its bytes.
    pub bytes: Bytes,
}

/// The bounded cache.
#[derive(Debug)]
pub struct Cache {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

#[derive(Debug)]
struct Inner {
    images: LruCache<String, Arc<Image>>,
    bytes: usize,
}

impl Cache {
    /// A cache of at most `max_entries` images and `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Cache {
            inner: Mutex::new(Inner {
                images: LruCache::new(NonZeroUsize::new(max_entries).unwrap_or(NonZeroUsize::MIN)),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent cache (every
        // change is one call): go on with it.
        self.inner.lock()
    }

    /// The image fetched from `url`, if kept.
    pub fn get(&self, url: &str) -> Option<Arc<Image>> {
        self.lock().images.get(url).cloned()
    }

    /// Keeps `image`, dropping the least recently served ones until both
    /// bounds hold. An image larger than the whole byte bound is not kept.
    pub fn put(&self, url: String, image: Arc<Image>) {
        let size = image.bytes.len();
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.images.pop(&url) {
            inner.bytes -= old.bytes.len();
        }
        while inner.bytes + size > self.max_bytes {
            match inner.images.pop_lru() {
                Some((_, old)) => inner.bytes -= old.bytes.len(),
                None => break,
            }
        }
        if let Some((_, evicted)) = inner.images.push(url, image) {
            inner.bytes -= evicted.bytes.len();
        }
        inner.bytes += size;
    }

    /// (images, bytes) kept now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.images.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: usize) -> Arc<Image> {
        Arc::new(Image {
            mime: "image/png",
            bytes: Bytes::from(vec![0u8; n]),
        })
    }

    #[test]
    fn the_entry_bound_drops_the_least_recently_served() {
        let cache = Cache::new(2, 1000);
        cache.put("a".into(), image(10));
        cache.put("b".into(), image(10));
        assert!(cache.get("a").is_some()); // a is now the most recent
        cache.put("c".into(), image(10));
        assert!(cache.get("b").is_none(), "b went");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.usage(), (2, 20));
    }

    #[test]
    fn the_byte_bound_holds_and_too_large_images_are_not_kept() {
        let cache = Cache::new(100, 100);
        for i in 0..10 {
            cache.put(format!("{i}"), image(30));
            assert!(cache.usage().1 <= 100, "{:?}", cache.usage());
        }
        assert_eq!(cache.usage(), (3, 90));
        cache.put("big".into(), image(101));
        assert!(cache.get("big").is_none());
        assert_eq!(cache.usage(), (3, 90));
        // Replacing an entry counts its bytes once.
        cache.put("9".into(), image(40));
        assert_eq!(cache.usage(), (3, 100));
    }
}
