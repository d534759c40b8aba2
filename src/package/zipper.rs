//! The deterministic zip writer: parallel compression, sorted output.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{Entry, PackageError};

/// Files larger than this are compressed by the writer while streaming,
/// instead of being held compressed in memory by a worker.
pub const STREAM_THRESHOLD: u64 = 16 * 1024 * 1024;
/// How many entries workers may prepare ahead of the writer, per thread.
const WINDOW_PER_THREAD: usize = 4;

/// How much of an entry's start is looked at to decide whether deflating
/// it is worth the CPU.
const SAMPLE: usize = 16 * 1024;

/// Above this many bits of information per byte (8 is the most), a sample
/// is taken for already compressed or random content. Source text and
/// JSON measure 4.5-6, executables and shared libraries 5.5-6.5; JPEG,
/// PNG, zip, gzip and random bytes 7.8-8.
const STORE_ABOVE_BITS_PER_BYTE: f64 = 7.5;

/// Deflate (level 6) for what shrinks; store what does not. Already
/// compressed content — images, archives, random bytes — costs a full
/// deflate pass and comes out no smaller (a little larger, in fact). The
/// byte entropy of the entry's first 16 KiB decides, at the cost of one
/// pass over those bytes (a test compression, tried first, took a sixth
/// of packaging's CPU). The choice depends on the bytes alone, so packages
/// stay deterministic.
fn options(e: &Entry, sample: &[u8]) -> SimpleFileOptions {
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .unix_permissions(e.mode())
        .large_file(e.size >= u32::MAX as u64);
    if worth_deflating(sample) {
        base.compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
    } else {
        base.compression_method(CompressionMethod::Stored)
    }
}

/// False for an empty sample and for one whose bytes are spread nearly
/// evenly over all 256 values (Shannon entropy above
/// [`STORE_ABOVE_BITS_PER_BYTE`]).
fn worth_deflating(sample: &[u8]) -> bool {
    if sample.is_empty() {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in sample {
        counts[b as usize] += 1;
    }
    let n = sample.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    bits <= STORE_ABOVE_BITS_PER_BYTE
}

enum Prepared {
    Ready(Box<PreparedZipFile>),
    /// The writer streams this one itself.
    Large,
}

/// Writes `entries` (already sorted) to `out` through a temp file that is
/// renamed into place only when complete.
pub fn write_zip(
    function: &str,
    entries: &[Entry],
    out: &Path,
    threads: usize,
) -> Result<(), PackageError> {
    let werr = |reason: String| PackageError::Write {
        function: function.to_string(),
        path: out.to_path_buf(),
        reason,
    };
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".fnctl-zip-")
        .tempfile_in(dir)
        .map_err(|e| werr(e.to_string()))?;
    let file = tmp.reopen().map_err(|e| werr(e.to_string()))?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));

    let threads = threads.max(1);
    let window = threads * WINDOW_PER_THREAD;
    let next = AtomicUsize::new(0);
    // Index of the next entry the writer will append; workers wait on it.
    let written = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Result<Prepared, PackageError>)>();

    let result = std::thread::scope(|s| -> Result<(), PackageError> {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, written) = (&next, &written);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(e) = entries.get(i) else { break };
                {
                    let (lock, cv) = written;
                    let mut w = lock.lock().unwrap_or_else(|p| p.into_inner());
                    // usize::MAX means "stop"; test it first, as adding
                    // the window to it would overflow.
                    while *w != usize::MAX && i >= *w + window {
                        w = cv.wait(w).unwrap_or_else(|p| p.into_inner());
                    }
                    if *w == usize::MAX {
                        break;
                    }
                }
                let prepared = if e.size > STREAM_THRESHOLD {
                    Ok(Prepared::Large)
                } else {
                    std::fs::read(&e.disk_path)
                        .map_err(zip::result::ZipError::Io)
                        .and_then(|data| {
                            let sample = &data[..data.len().min(SAMPLE)];
                            PreparedZipFile::from_data(&e.zip_path, options(e, sample), &data)
                        })
                        .map(|p| Prepared::Ready(Box::new(p)))
                        .map_err(|err| read_error(function, e, err))
                };
                if tx.send((i, prepared)).is_err() {
                    break;
                }
            });
        }
        drop(tx);

        let mut pending: BTreeMap<usize, Result<Prepared, PackageError>> = BTreeMap::new();
        let mut outcome = Ok(());
        'writer: for (i, entry) in entries.iter().enumerate() {
            let item = loop {
                if let Some(item) = pending.remove(&i) {
                    break item;
                }
                match rx.recv() {
                    Ok((j, item)) => {
                        pending.insert(j, item);
                    }
                    Err(_) => {
                        outcome = Err(werr("a compression worker stopped unexpectedly".into()));
                        break 'writer;
                    }
                }
            };
            let step = match item {
                Ok(Prepared::Ready(p)) => {
                    zip.add_prepared_file(*p).map_err(|e| werr(e.to_string()))
                }
                Ok(Prepared::Large) => stream_entry(function, &mut zip, entry),
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                outcome = Err(e);
                break;
            }
            let (lock, cv) = &written;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) = i + 1;
            cv.notify_all();
        }
        // Release any waiting worker (also on error), then drain.
        let (lock, cv) = &written;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = usize::MAX;
        cv.notify_all();
        drop(rx);
        outcome
    });
    result?;
    let mut writer = zip.finish().map_err(|e| werr(e.to_string()))?;
    writer.flush().map_err(|e| werr(e.to_string()))?;
    drop(writer);
    let file = tmp.persist(out).map_err(|e| werr(e.error.to_string()))?;
    // Temp files are created private; an artifact is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| werr(e.to_string()))?;
    }
    drop(file);
    Ok(())
}

fn stream_entry<W: Write + std::io::Seek>(
    function: &str,
    zip: &mut ZipWriter<W>,
    e: &Entry,
) -> Result<(), PackageError> {
    let mut src = File::open(&e.disk_path).map_err(|source| PackageError::Read {
        function: function.to_string(),
        path: e.zip_path.clone(),
        source,
    })?;
    let read_err = |source| PackageError::Read {
        function: function.to_string(),
        path: e.zip_path.clone(),
        source,
    };
    let mut sample = Vec::with_capacity(SAMPLE);
    (&mut src)
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(read_err)?;
    zip.start_file(&e.zip_path, options(e, &sample))
        .map_err(|err| read_error(function, e, err))?;
    zip.write_all(&sample).map_err(read_err)?;
    std::io::copy(&mut src, zip).map_err(|source| PackageError::Read {
        function: function.to_string(),
        path: e.zip_path.clone(),
        source,
    })?;
    Ok(())
}

fn read_error(function: &str, e: &Entry, err: zip::result::ZipError) -> PackageError {
    let source = match err {
        zip::result::ZipError::Io(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    PackageError::Read {
        function: function.to_string(),
        path: e.zip_path.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{spec, write};
    use super::super::{build_with_threads, collect};
    use std::io::Read;

    fn tree(root: &std::path::Path, reverse: bool) {
        let mut names: Vec<String> = (0..60).map(|i| format!("d{}/f{i}.txt", i % 5)).collect();
        if reverse {
            names.reverse();
        }
        for n in &names {
            write(root, n, &format!("content of {n}\n").repeat(50));
        }
        write(root, "bin/tool", "#!/bin/sh\necho hi\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                root.join("bin/tool"),
                std::fs::Permissions::from_mode(0o700),
            )
            .unwrap();
        }
        write(root, "bootstrap", "binary");
    }

    #[test]
    fn identical_bytes_regardless_of_order_mtime_and_threads() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        tree(a.path(), false);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        tree(b.path(), true);
        let out = tempfile::tempdir().unwrap();
        let za = build_with_threads(&spec(a.path()), &out.path().join("a.zip"), 1).unwrap();
        let zb = build_with_threads(&spec(b.path()), &out.path().join("b.zip"), 4).unwrap();
        let zc = build_with_threads(&spec(a.path()), &out.path().join("c.zip"), 2).unwrap();
        assert_eq!(za.sha256_hex, zb.sha256_hex);
        assert_eq!(za.sha256_hex, zc.sha256_hex);
        assert_eq!(
            std::fs::read(&za.path).unwrap(),
            std::fs::read(&zb.path).unwrap()
        );
        assert_eq!(za.files, 62);
    }

    #[test]
    fn entries_are_sorted_with_fixed_time_and_normalised_modes() {
        let a = tempfile::tempdir().unwrap();
        tree(a.path(), false);
        let out = tempfile::tempdir().unwrap();
        let art = build_with_threads(&spec(a.path()), &out.path().join("a.zip"), 2).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&art.path).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let t = f.last_modified().unwrap();
            assert_eq!((t.year(), t.month(), t.day(), t.hour()), (1980, 1, 1, 0));
            let mode = f.unix_mode().unwrap() & 0o777;
            let name = f.name().unwrap().to_string();
            let expected = if matches!(name.as_str(), "bootstrap" | "bin/tool") {
                0o755
            } else {
                0o644
            };
            assert_eq!(mode, expected, "{name}");
            assert!(
                f.extra_data().is_none_or(|d| d.is_empty()),
                "no extra fields"
            );
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
        }
    }

    #[test]
    fn large_files_are_streamed_and_round_trip() {
        let a = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..(super::STREAM_THRESHOLD as usize + 1000))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(a.path().join("big.bin"), &big).unwrap();
        write(a.path(), "small.txt", "s");
        let out = tempfile::tempdir().unwrap();
        let one = build_with_threads(&spec(a.path()), &out.path().join("1.zip"), 1).unwrap();
        let two = build_with_threads(&spec(a.path()), &out.path().join("2.zip"), 3).unwrap();
        assert_eq!(one.sha256_hex, two.sha256_hex);
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&one.path).unwrap()).unwrap();
        let mut back = Vec::new();
        zip.by_name("big.bin")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, big);
    }

    #[test]
    fn what_does_not_shrink_is_stored_and_the_rest_deflated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "text.py",
            &"def handler(event, context):\n    return event\n".repeat(400),
        );
        // Bytes a deflate cannot shrink (an xorshift stream stands in for
        // images, archives and compiled extensions).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(root.join("noise.bin"), &noise).unwrap();
        std::fs::write(root.join("empty.txt"), b"").unwrap();
        let out = tempfile::tempdir().unwrap();
        let out = build_with_threads(&spec(root), &out.path().join("out.zip"), 2)
            .unwrap()
            .path;
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let method = |zip: &mut zip::ZipArchive<std::fs::File>, name: &str| {
            zip.by_name(name).unwrap().compression()
        };
        assert_eq!(
            method(&mut zip, "text.py"),
            zip::CompressionMethod::Deflated
        );
        assert_eq!(
            method(&mut zip, "noise.bin"),
            zip::CompressionMethod::Stored
        );
        assert_eq!(
            method(&mut zip, "empty.txt"),
            zip::CompressionMethod::Stored
        );
        let mut back = Vec::new();
        zip.by_name("noise.bin")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, noise, "stored entries round-trip");
    }

    #[test]
    fn failed_build_leaves_nothing_behind() {
        let a = tempfile::tempdir().unwrap();
        write(a.path(), "ok.txt", "x");
        let mut entries = collect(&spec(a.path())).unwrap();
        entries.push(super::super::Entry {
            zip_path: "zz-missing".into(),
            disk_path: a.path().join("nope"),
            size: 1,
            executable: false,
        });
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("f.zip");
        let err = super::write_zip("f", &entries, &target, 2).unwrap_err();
        assert!(
            err.to_string().contains("cannot read `zz-missing`"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "no zip and no temp file"
        );
    }
}
