/*
 * dataver_native: the folder scan of dataver and the writer of a cold get's small files, in C.
 * The writer (write_files) is described where it starts, below the scan.
 *
 * Listing a folder and stat-ing every file is the floor of finding what changed in it
 * (`add_files`, `sync_folder`): 10,000 files cost ~0.04 s in a Python loop, of which the stat
 * system calls are about half. Here the calls run on several threads without the GIL, and
 * Python objects are made once, at the end, as columns (one list per field). The semantics
 * are those of the pure-Python walk in dataver/scan.py (`_walk`), which stays the reference
 * and the fallback (tests/native checks the two on the same trees):
 *
 *   - real directories are descended (when recursive); symbolic links to directories are not;
 *   - regular files, and symbolic links to regular files, are listed with the stat of the
 *     file they name (size, mtime in ns, inode); broken links, link loops and other kinds
 *     are skipped;
 *   - every symbolic link kept is reported as one (links to files, and links to directories
 *     when recursive), so that Python resolves just those few and applies the symlink
 *     policy (dataver.scan: which lead outside the folder, what to do with them);
 *   - a directory that cannot be opened, or a listed file that cannot be stat-ed, raises
 *     OSError naming it (the first such error; the walk stops).
 *
 * GIL and threads. scan() releases the GIL (Py_BEGIN_ALLOW_THREADS) for the whole walk: its
 * threads touch no Python object, only malloc'd C strings. It takes the GIL back to build
 * the result. No Python object is kept across calls: the module has no global state, and
 * every object scan() holds while it builds the result is its own reference (the arguments
 * are kept alive by the caller's argument tuple). So the module declares that it needs no
 * GIL on free-threaded builds (Py_mod_gil, Python 3.13+) and supports sub-interpreters with
 * their own GIL (Py_mod_multiple_interpreters, 3.12+); both slots are compiled only where
 * the Python headers define them.
 *
 * Portability. POSIX.1-2008 (openat-style calls, fdopendir, fstatat); the nanosecond mtime is
 * `st_mtimespec` on macOS and `st_mtim` elsewhere; `d_type` is used where <dirent.h> has
 * it, and when it is missing or DT_UNKNOWN the kind comes from fstatat. Not built on Windows
 * (setup.py), where dataver uses the Python walk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#if defined(__APPLE__)
#define MTIME_OF(st) ((st)->st_mtimespec) /* macOS and iOS: no st_mtim */
#else
#define MTIME_OF(st) ((st)->st_mtim) /* POSIX.1-2008: Linux, the BSDs */
#endif

/* What a directory entry is, as far as the walk cares. */
enum { KIND_UNKNOWN, KIND_DIR, KIND_FILE, KIND_LINK, KIND_OTHER };

/* The kind <dirent.h> gives without a system call, or KIND_UNKNOWN (then fstatat decides). */
static int listed_kind(const struct dirent *item) {
#if defined(DT_UNKNOWN) && defined(DT_DIR) && defined(DT_REG) && defined(DT_LNK) && \
    !defined(DATAVER_NATIVE_NO_D_TYPE) /* defined by a test build, to run the fallback */
    switch (item->d_type) {
    case DT_UNKNOWN: return KIND_UNKNOWN; /* some file systems do not fill it */
    case DT_DIR: return KIND_DIR;
    case DT_REG: return KIND_FILE;
    case DT_LNK: return KIND_LINK;
    default: return KIND_OTHER;
    }
#else
    (void)item;
    return KIND_UNKNOWN;
#endif
}

static int kind_of_mode(mode_t mode) {
    return S_ISDIR(mode) ? KIND_DIR : S_ISREG(mode) ? KIND_FILE : S_ISLNK(mode) ? KIND_LINK
                                                                             : KIND_OTHER;
}

typedef struct {
    char *rel; /* path below the root, '/'-separated, never empty */
    long long size;
    long long mtime_ns;
    unsigned long long inode;
    int link; /* a symbolic link (to a file: the stat is the file's) */
} File;

typedef struct {
    File *items;
    size_t len, cap;
} Files;

typedef struct {
    const char *root; /* no trailing '/', except the root directory itself */
    int recursive;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char **queue; /* directories to read, relative to the root ("" is the root) */
    size_t queued, queue_cap;
    int busy;         /* workers reading a directory now */
    int error;        /* errno of the first failure, 0 if none */
    char *error_path; /* what failed (malloc'd) */
} Walk;

typedef struct {
    Walk *walk;
    Files files;
    Files folder_links; /* symbolic links to directories (rel only; never descended) */
    int out_of_memory;
} Worker;

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *out = malloc(la + slash + lb + 1);
    if (out == NULL) return NULL;
    memcpy(out, a, la);
    if (slash) out[la] = '/';
    memcpy(out + la + slash, b, lb + 1);
    return out;
}

static char *child(const char *rel, const char *name) {
    return rel[0] == '\0' ? strdup(name) : join(rel, name);
}

/* Append a file (``st`` its stat, or NULL for a link to a directory); takes ``rel``. */
static int push_file(Files *files, char *rel, const struct stat *st, int link) {
    if (files->len == files->cap) {
        size_t cap = files->cap ? files->cap * 2 : 1024;
        File *grown = realloc(files->items, cap * sizeof(File));
        if (grown == NULL) return -1;
        files->items = grown;
        files->cap = cap;
    }
    File *f = &files->items[files->len++];
    memset(f, 0, sizeof(*f));
    f->rel = rel;
    f->link = link;
    if (st != NULL) {
        f->size = (long long)st->st_size;
        f->mtime_ns = (long long)MTIME_OF(st).tv_sec * 1000000000LL + MTIME_OF(st).tv_nsec;
        f->inode = (unsigned long long)st->st_ino;
    }
    return 0;
}

/* Called with the lock held. Keeps the first error only. */
static void fail(Walk *walk, int error, const char *rel) {
    if (walk->error != 0) return;
    walk->error = error;
    walk->error_path = rel[0] == '\0' ? strdup(walk->root) : join(walk->root, rel);
}

static int enqueue(Walk *walk, char *rel) {
    if (walk->queued == walk->queue_cap) {
        size_t cap = walk->queue_cap ? walk->queue_cap * 2 : 256;
        char **grown = realloc(walk->queue, cap * sizeof(char *));
        if (grown == NULL) return -1;
        walk->queue = grown;
        walk->queue_cap = cap;
    }
    walk->queue[walk->queued++] = rel;
    return 0;
}

/*
 * Read one directory: files into the worker's list, sub-directories onto the queue.
 * Returns 0, or an errno value with *what set to the relative path that failed.
 */
static int read_dir(Worker *worker, const char *rel, char **what) {
    Walk *walk = worker->walk;
    char *full = rel[0] == '\0' ? strdup(walk->root) : join(walk->root, rel);
    if (full == NULL) return ENOMEM;
    int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(full);
    if (fd < 0) {
        *what = strdup(rel);
        return errno;
    }
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        int error = errno;
        close(fd);
        *what = strdup(rel);
        return error;
    }
    int status = 0;
    for (;;) {
        errno = 0;
        struct dirent *item = readdir(dir);
        if (item == NULL) {
            if (errno != 0) {
                status = errno;
                *what = strdup(rel);
            }
            break;
        }
        const char *name = item->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        int kind = listed_kind(item);
        struct stat st;
        int have_stat = 0, link = 0;
        if (kind == KIND_UNKNOWN || kind == KIND_FILE) {
            /* Not followed (as os.DirEntry.stat): a name made a link since it was listed is
             * a link, and the policy sees it. As in the Python walk, a name gone since it
             * was listed is skipped when its kind was unknown and an error otherwise, and a
             * file replaced by a folder since it was listed is skipped. */
            int listed = kind;
            if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (listed == KIND_UNKNOWN) continue;
                status = errno;
                *what = child(rel, name);
                break;
            }
            kind = kind_of_mode(st.st_mode);
            if (listed == KIND_FILE && kind == KIND_DIR) continue;
            have_stat = kind == KIND_FILE;
        }
        if (kind == KIND_DIR) {
            if (!walk->recursive) continue;
            char *sub = child(rel, name);
            if (sub == NULL) {
                status = ENOMEM;
                break;
            }
            pthread_mutex_lock(&walk->lock);
            int pushed = enqueue(walk, sub);
            pthread_cond_signal(&walk->wake);
            pthread_mutex_unlock(&walk->lock);
            if (pushed != 0) {
                free(sub);
                status = ENOMEM;
                break;
            }
            continue;
        }
        if (kind == KIND_LINK) {
            /* A link to a file counts as that file, reported as a link; a link to a directory
             * is only reported; dangling links and loops (ENOENT, ELOOP) are left out. */
            if (fstatat(fd, name, &st, 0) != 0) continue;
            if (S_ISDIR(st.st_mode)) {
                if (!walk->recursive) continue;
                char *path = child(rel, name);
                if (path == NULL || push_file(&worker->folder_links, path, NULL, 1) != 0) {
                    free(path);
                    status = ENOMEM;
                    break;
                }
                continue;
            }
            if (!S_ISREG(st.st_mode)) continue;
            have_stat = link = 1;
        }
        if (!have_stat) continue; /* FIFOs, sockets, devices */
        char *path = child(rel, name);
        if (path == NULL || push_file(&worker->files, path, &st, link) != 0) {
            free(path);
            status = ENOMEM;
            break;
        }
    }
    closedir(dir); /* closes fd */
    return status;
}

static void *work(void *arg) {
    Worker *worker = arg;
    Walk *walk = worker->walk;
    pthread_mutex_lock(&walk->lock);
    for (;;) {
        while (walk->queued == 0 && walk->busy > 0 && walk->error == 0)
            pthread_cond_wait(&walk->wake, &walk->lock);
        if (walk->error != 0 || walk->queued == 0) break; /* failed, or nothing left anywhere */
        char *rel = walk->queue[--walk->queued];
        walk->busy++;
        pthread_mutex_unlock(&walk->lock);
        char *what = NULL;
        int status = read_dir(worker, rel, &what);
        pthread_mutex_lock(&walk->lock);
        walk->busy--;
        if (status != 0) {
            if (status == ENOMEM) worker->out_of_memory = 1;
            fail(walk, status, what != NULL ? what : rel);
        }
        free(what);
        free(rel);
        pthread_cond_broadcast(&walk->wake);
    }
    pthread_cond_broadcast(&walk->wake);
    pthread_mutex_unlock(&walk->lock);
    return NULL;
}

static void free_files(Files *files) {
    for (size_t i = 0; i < files->len; i++) free(files->items[i].rel);
    free(files->items);
    files->items = NULL;
    files->len = files->cap = 0;
}

/* What a walk found: every file and every link to a directory, each sorted by path bytes. */
typedef struct {
    Files files;
    Files folder_links;
} Listing;

static int by_rel(const void *a, const void *b) {
    return strcmp(((const File *)a)->rel, ((const File *)b)->rel);
}

/* The files (or, with ``folders``, the links to directories) of every worker, moved into
 * ``out`` and sorted by path bytes (str order for UTF-8 names); -1 when out of memory (the
 * workers' lists are left as they were). */
static int merge(Worker *workers, int count, int folders, Files *out) {
    size_t sum = 0;
    for (int i = 0; i < count; i++)
        sum += (folders ? &workers[i].folder_links : &workers[i].files)->len;
    File *items = malloc((sum ? sum : 1) * sizeof(File));
    if (items == NULL) return -1;
    size_t at = 0;
    for (int i = 0; i < count; i++) {
        Files *part = folders ? &workers[i].folder_links : &workers[i].files;
        if (part->len) memcpy(items + at, part->items, part->len * sizeof(File));
        at += part->len;
        part->len = 0; /* the names belong to ``items`` now */
    }
    qsort(items, sum, sizeof(File), by_rel);
    out->items = items;
    out->len = out->cap = sum;
    return 0;
}

static void free_listing(Listing *listing) {
    free_files(&listing->files);
    free_files(&listing->folder_links);
}

/* Walk ``root`` on ``threads`` threads into ``out``: 0, or -1 with a Python exception set.
 * Called with the GIL; releases it while walking. */
static int walk_tree(const char *root, int recursive, int threads, Listing *out) {
    if (threads < 1) threads = 1;
    if (threads > 16) threads = 16;
    memset(out, 0, sizeof(*out));
    Walk walk;
    memset(&walk, 0, sizeof(walk));
    walk.root = root;
    walk.recursive = recursive;
    Worker *workers = calloc((size_t)threads, sizeof(Worker));
    pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
    char *top = strdup("");
    if (workers == NULL || ids == NULL || top == NULL || enqueue(&walk, top) != 0) {
        free(workers);
        free(ids);
        free(top);
        free(walk.queue);
        PyErr_NoMemory();
        return -1;
    }
    pthread_mutex_init(&walk.lock, NULL);
    pthread_cond_init(&walk.wake, NULL);
    int started = 0, merged = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < threads; i++) workers[i].walk = &walk;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&ids[i], NULL, work, &workers[i]) != 0) break;
        started = i;
    }
    work(&workers[0]); /* the calling thread works too */
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    if (walk.error == 0) {
        merged = merge(workers, threads, 0, &out->files) == 0 &&
                 merge(workers, threads, 1, &out->folder_links) == 0;
    }
    Py_END_ALLOW_THREADS
    int out_of_memory = walk.error == ENOMEM;
    for (int i = 0; i < threads; i++) out_of_memory |= workers[i].out_of_memory;
    int status = 0;
    if (out_of_memory || (walk.error == 0 && !merged)) {
        PyErr_NoMemory();
        status = -1;
    } else if (walk.error != 0) {
        errno = walk.error;
        PyObject *name = PyUnicode_DecodeFSDefault(walk.error_path ? walk.error_path : walk.root);
        if (name != NULL) {
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
            Py_DECREF(name);
        }
        status = -1;
    }
    for (int i = 0; i < threads; i++) {
        free_files(&workers[i].files);
        free_files(&workers[i].folder_links);
    }
    for (size_t i = 0; i < walk.queued; i++) free(walk.queue[i]);
    free(walk.queue);
    free(walk.error_path);
    free(workers);
    free(ids);
    pthread_mutex_destroy(&walk.lock);
    pthread_cond_destroy(&walk.wake);
    if (status != 0) free_listing(out);
    return status;
}

/* ------------------------------------------------------------------------ Python results */

/* Where the last '/' of ``rel`` is, or -1. */
static Py_ssize_t last_slash(const char *rel, size_t length) {
    for (size_t i = length; i > 0; i--)
        if (rel[i - 1] == '/') return (Py_ssize_t)(i - 1);
    return -1;
}

/* The six columns of scan()'s result, and what building them needs. Every PyObject here is
 * a strong reference owned by the struct. */
typedef struct {
    PyObject *lists[6]; /* paths, folders, names, sizes, mtimes, inodes */
    PyObject *lead;     /* borrowed from the arguments (alive for the call) */
    PyObject *base;     /* the root + '/', as str: the folder of top-level files */
    char *base_bytes;   /* the same, bytes */
    size_t base_len;
    PyObject *folder;   /* the folder str of the previous file, shared with the next ones */
    char *folder_rel;   /* its directory part of rel (bytes, with the trailing '/') */
    size_t folder_len;
} Columns;

/* ``root`` + "/" (unless it ends with one), as bytes (malloc'd) and str. 0, or -1. */
static int make_base(Columns *c, const char *root) {
    size_t root_len = strlen(root);
    int slash = root_len == 0 || root[root_len - 1] != '/';
    c->base_len = root_len + (size_t)slash;
    c->base_bytes = malloc(c->base_len + 1);
    if (c->base_bytes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(c->base_bytes, root, root_len);
    if (slash) c->base_bytes[root_len] = '/';
    c->base_bytes[c->base_len] = '\0';
    c->base = PyUnicode_DecodeFSDefaultAndSize(c->base_bytes, (Py_ssize_t)c->base_len);
    return c->base == NULL ? -1 : 0;
}

/* The folder str of a file whose directory part of rel is ``rel[:cut + 1]`` (cut < 0: none):
 * a new reference, the previous file's object when the folder is the same. */
static PyObject *folder_of(Columns *c, const char *rel, Py_ssize_t cut) {
    size_t head = cut < 0 ? 0 : (size_t)cut + 1;
    if (head == 0) {
        Py_INCREF(c->base);
        return c->base;
    }
    if (c->folder != NULL && head == c->folder_len && memcmp(rel, c->folder_rel, head) == 0) {
        Py_INCREF(c->folder);
        return c->folder;
    }
    Py_CLEAR(c->folder); /* NOTE: from here on, folder_rel is not trusted until set again */
    c->folder_len = 0;
    char *local = malloc(c->base_len + head);
    if (local == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(local, c->base_bytes, c->base_len);
    memcpy(local + c->base_len, rel, head);
    PyObject *folder = PyUnicode_DecodeFSDefaultAndSize(local, (Py_ssize_t)(c->base_len + head));
    free(local);
    char *copy = folder != NULL ? realloc(c->folder_rel, head) : NULL;
    if (copy == NULL) {
        if (folder != NULL) PyErr_NoMemory();
        Py_XDECREF(folder);
        return NULL;
    }
    memcpy(copy, rel, head);
    c->folder_rel = copy;
    c->folder_len = head;
    c->folder = folder; /* the struct's reference */
    Py_INCREF(folder);  /* the caller's */
    return folder;
}

/* Set column ``column`` at ``at`` to ``value`` (stolen); -1 if ``value`` is NULL. */
static int put(Columns *c, int column, Py_ssize_t at, PyObject *value) {
    if (value == NULL) return -1;
    PyList_SET_ITEM(c->lists[column], at, value);
    return 0;
}

/* One file into the columns at ``at``: 0, or -1 with an exception. */
static int add_file(Columns *c, Py_ssize_t at, const File *f) {
    size_t length = strlen(f->rel);
    Py_ssize_t cut = last_slash(f->rel, length);
    PyObject *rel = PyUnicode_DecodeFSDefaultAndSize(f->rel, (Py_ssize_t)length);
    if (rel == NULL) return -1;
    PyObject *name;
    if (cut < 0) {
        Py_INCREF(rel); /* a top-level file: its name is its relative path */
        name = rel;
    } else {
        name = PyUnicode_DecodeFSDefaultAndSize(f->rel + cut + 1, (Py_ssize_t)length - cut - 1);
    }
    PyObject *path;
    if (PyUnicode_GET_LENGTH(c->lead) == 0) {
        path = rel; /* no lead: the dataset path is the relative path (the reference moves) */
    } else {
        path = PyUnicode_Concat(c->lead, rel);
        Py_DECREF(rel);
    }
    if (put(c, 0, at, path) != 0) {
        Py_XDECREF(name);
        return -1;
    }
    if (put(c, 2, at, name) != 0 || put(c, 1, at, folder_of(c, f->rel, cut)) != 0 ||
        put(c, 3, at, PyLong_FromLongLong(f->size)) != 0 ||
        put(c, 4, at, PyLong_FromLongLong(f->mtime_ns)) != 0 ||
        put(c, 5, at, PyLong_FromUnsignedLongLong(f->inode)) != 0)
        return -1;
    return 0;
}

static void clear_columns(Columns *c) {
    for (int i = 0; i < 6; i++) Py_CLEAR(c->lists[i]);
    Py_CLEAR(c->base);
    Py_CLEAR(c->folder);
    free(c->base_bytes);
    free(c->folder_rel);
    c->base_bytes = c->folder_rel = NULL;
}

/* Append to ``out`` a (lead + rel, local path, is_folder) tuple per symbolic link of the
 * listing: links to files (also listed as files), then links to directories. ``base`` is
 * the root + '/' as str. 0, or -1 with an exception. */
static int links_to_python(const Listing *listing, PyObject *base, PyObject *lead,
                           PyObject *out) {
    for (int folders = 0; folders <= 1; folders++) {
        const Files *files = folders ? &listing->folder_links : &listing->files;
        for (size_t j = 0; j < files->len; j++) {
            if (!files->items[j].link) continue;
            PyObject *rel = PyUnicode_DecodeFSDefault(files->items[j].rel);
            PyObject *path = rel != NULL ? PyUnicode_Concat(lead, rel) : NULL;
            PyObject *local = rel != NULL ? PyUnicode_Concat(base, rel) : NULL;
            PyObject *item = path != NULL && local != NULL
                                 ? PyTuple_Pack(3, path, local, folders ? Py_True : Py_False)
                                 : NULL;
            int failed = item == NULL || PyList_Append(out, item) != 0;
            Py_XDECREF(item);
            Py_XDECREF(local);
            Py_XDECREF(path);
            Py_XDECREF(rel);
            if (failed) return -1;
        }
    }
    return 0;
}

/* The result of scan() (a tuple of six lists), and the links appended to ``links`` unless
 * it is None; NULL with an exception. */
static PyObject *to_python(const Listing *listing, const char *root, PyObject *lead,
                           PyObject *links) {
    Columns c;
    memset(&c, 0, sizeof(c));
    c.lead = lead;
    Py_ssize_t count = (Py_ssize_t)listing->files.len;
    PyObject *result = NULL;
    if (make_base(&c, root) != 0) goto done;
    for (int i = 0; i < 6; i++) {
        /* NOTE: PyList_New fills the slots with NULL; a list left partly filled on error
         * is still safe to free. */
        c.lists[i] = PyList_New(count);
        if (c.lists[i] == NULL) goto done;
    }
    for (Py_ssize_t at = 0; at < count; at++)
        if (add_file(&c, at, &listing->files.items[at]) != 0) goto done;
    if (links != Py_None && links_to_python(listing, c.base, lead, links) != 0) goto done;
    result = PyTuple_Pack(6, c.lists[0], c.lists[1], c.lists[2], c.lists[3], c.lists[4],
                          c.lists[5]);
done:
    clear_columns(&c);
    return result;
}

PyDoc_STRVAR(scan_doc,
"scan(root, lead, recursive, threads, links=None) -> (paths, folders, names, sizes, mtimes, inodes)\n\n"
"Every file under the directory ``root``, stat-ed on ``threads`` threads without the GIL,\n"
"sorted by path bytes, as six lists of equal length: the dataset path (lead + path below\n"
"root), the local folder holding the file (with a trailing '/'; one str object for a run of\n"
"files in one folder), the file name, the size, the mtime in ns and the inode. The local\n"
"path of a file is folder + name. A symbolic link to a file is listed with its file's stat;\n"
"dangling links and loops are left out, links to directories are not descended.\n\n"
"When ``links`` is a list, a (lead + path, local path, is_folder) tuple is appended to it\n"
"for every symbolic link kept: each link to a file, and each link to a directory (when\n"
"recursive).\n\n"
"Releases the GIL while it walks. Raises OSError for a directory that cannot be read or a\n"
"file that cannot be stat-ed.");

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *root_obj, *lead, *links = Py_None;
    int recursive, threads;
    if (!PyArg_ParseTuple(args, "O&Upi|O", PyUnicode_FSConverter, &root_obj, &lead, &recursive,
                          &threads, &links))
        return NULL;
    if (links != Py_None && !PyList_Check(links)) {
        Py_DECREF(root_obj);
        PyErr_SetString(PyExc_TypeError, "links must be a list or None");
        return NULL;
    }
    const char *root = PyBytes_AS_STRING(root_obj);
    Listing listing;
    PyObject *result = NULL;
    if (walk_tree(root, recursive, threads, &listing) == 0) {
        result = to_python(&listing, root, lead, links);
        free_listing(&listing);
    }
    Py_DECREF(root_obj);
    return result;
}

/* ------------------------------------------------------------------ write_files
 *
 * A cold get writes a pack's span of small files into a private tree: per file a create,
 * a write, a close and (for the cache) a hard link into blobs/. From Python each of these
 * system calls drops and retakes the GIL, and the fetch threads hand the GIL to each other
 * around every one of them. write_files() makes all of a span's calls with the GIL released
 * once. The bytes were verified by the caller before the call; nothing here looks at them. */

typedef struct {
    Py_ssize_t count;
    Py_ssize_t *starts, *sizes;
    PyObject **targets, **links; /* bytes objects (file system encoding), owned */
    int *link_errors;
} Batch;

static void free_batch(Batch *b) {
    for (Py_ssize_t i = 0; i < b->count; i++) {
        if (b->targets) Py_XDECREF(b->targets[i]);
        if (b->links) Py_XDECREF(b->links[i]);
    }
    PyMem_Free(b->starts);
    PyMem_Free(b->sizes);
    PyMem_Free(b->targets);
    PyMem_Free(b->links);
    PyMem_Free(b->link_errors);
}

/* Copy one sequence of paths into owned bytes objects (NULL: error set). */
static PyObject **fs_paths(PyObject *tuple, Py_ssize_t count) {
    PyObject **out = PyMem_Calloc((size_t)(count ? count : 1), sizeof(PyObject *));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(tuple, i), &out[i])) {
            for (Py_ssize_t j = 0; j < i; j++) Py_DECREF(out[j]);
            PyMem_Free(out);
            return NULL;
        }
    }
    return out;
}

/* Fill ``b`` from the arguments, checking every range against the buffer's length. */
static int make_batch(Batch *b, Py_ssize_t length, PyObject *starts, PyObject *sizes,
                      PyObject *targets, PyObject *links) {
    b->count = PyTuple_GET_SIZE(targets);
    if (PyTuple_GET_SIZE(starts) != b->count || PyTuple_GET_SIZE(sizes) != b->count ||
        (links != NULL && PyTuple_GET_SIZE(links) != b->count)) {
        PyErr_SetString(PyExc_ValueError, "starts, sizes, targets and links differ in length");
        return -1;
    }
    size_t n = (size_t)(b->count ? b->count : 1);
    b->starts = PyMem_Calloc(n, sizeof(Py_ssize_t));
    b->sizes = PyMem_Calloc(n, sizeof(Py_ssize_t));
    b->link_errors = PyMem_Calloc(n, sizeof(int));
    if (b->starts == NULL || b->sizes == NULL || b->link_errors == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < b->count; i++) {
        b->starts[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(starts, i));
        b->sizes[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(sizes, i));
        if (PyErr_Occurred()) return -1;
        if (b->starts[i] < 0 || b->sizes[i] < 0 || b->starts[i] > length ||
            b->sizes[i] > length - b->starts[i]) {
            PyErr_Format(PyExc_ValueError, "file %zd lies outside the buffer", i);
            return -1;
        }
    }
    b->targets = fs_paths(targets, b->count);
    if (b->targets == NULL) return -1;
    if (links != NULL) {
        b->links = fs_paths(links, b->count);
        if (b->links == NULL) return -1;
    }
    return 0;
}

/* Create ``path`` (it must not exist) with ``mode`` and write ``size`` bytes to it: 0, or
 * the errno of the call that failed. Interrupted calls are retried. */
static int write_one(const char *path, const char *data, Py_ssize_t size, int mode) {
    int fd;
    do fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno;
    int error = 0;
    while (size > 0) {
        ssize_t done = write(fd, data, (size_t)size);
        if (done < 0) {
            if (errno == EINTR) continue;
            error = errno;
            break;
        }
        data += done;
        size -= done;
    }
    if (close(fd) != 0 && error == 0 && errno != EINTR) error = errno;
    return error;
}

/* Write every file of the batch, linking each to its second name if any: the index of the
 * file that could not be written (its errno in *error), or -1 when all were. */
static Py_ssize_t write_batch(Batch *b, const char *data, int mode, int *error) {
    for (Py_ssize_t i = 0; i < b->count; i++) {
        const char *target = PyBytes_AS_STRING(b->targets[i]);
        *error = write_one(target, data + b->starts[i], b->sizes[i], mode);
        if (*error != 0) return i;
        if (b->links != NULL && link(target, PyBytes_AS_STRING(b->links[i])) != 0)
            b->link_errors[i] = errno;
    }
    return -1;
}

static PyObject *link_errors_list(const Batch *b) {
    PyObject *out = PyList_New(b->count);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < b->count; i++) {
        PyObject *value = PyLong_FromLong(b->link_errors[i]);
        if (value == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, value);
    }
    return out;
}

PyDoc_STRVAR(write_files_doc,
"write_files(data, starts, sizes, targets, mode, links=None) -> list[int] | None\n\n"
"Create each file targets[i] (it must not exist) with permission bits ``mode`` and the\n"
"bytes data[starts[i]:starts[i] + sizes[i]], in order, with the GIL released for the whole\n"
"batch. With ``links`` (a sequence as long as targets), each file is hard-linked to\n"
"links[i] right after it is written, and the result lists the errno of each link (0: made);\n"
"a failed link is left to the caller. Without ``links`` the result is None.\n\n"
"Raises OSError naming the first file that cannot be created or written (the files before\n"
"it stay written and linked), and ValueError for a range outside ``data``.");

static PyObject *write_files(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data;
    PyObject *starts_arg, *sizes_arg, *targets_arg, *links_arg = Py_None;
    int mode;
    if (!PyArg_ParseTuple(args, "y*OOOi|O", &data, &starts_arg, &sizes_arg, &targets_arg,
                          &mode, &links_arg))
        return NULL;
    /* NOTE: tuples are copies: a list the caller (or another thread, without a GIL) changes
     * meanwhile cannot change the batch under us. */
    PyObject *starts = PySequence_Tuple(starts_arg);
    PyObject *sizes = starts ? PySequence_Tuple(sizes_arg) : NULL;
    PyObject *targets = sizes ? PySequence_Tuple(targets_arg) : NULL;
    PyObject *links = NULL;
    if (targets != NULL && links_arg != Py_None) links = PySequence_Tuple(links_arg);
    Batch batch;
    memset(&batch, 0, sizeof(batch));
    PyObject *result = NULL;
    if (targets == NULL || (links_arg != Py_None && links == NULL)) goto done;
    if (make_batch(&batch, data.len, starts, sizes, targets, links) != 0) goto done;
    Py_ssize_t failed;
    int error = 0;
    Py_BEGIN_ALLOW_THREADS
    failed = write_batch(&batch, (const char *)data.buf, mode, &error);
    Py_END_ALLOW_THREADS
    if (failed >= 0) {
        errno = error;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, PyTuple_GET_ITEM(targets, failed));
        goto done;
    }
    if (links == NULL) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        result = link_errors_list(&batch);
    }
done:
    free_batch(&batch);
    Py_XDECREF(starts);
    Py_XDECREF(sizes);
    Py_XDECREF(targets);
    Py_XDECREF(links);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"write_files", write_files, METH_VARARGS, write_files_doc},
    {NULL, NULL, 0, NULL},
};

/* dataver uses scan() only from a build whose API_VERSION it knows: version 2 reports
 * symbolic links and returns columns (version 1 returned rows and is not used). */
static int exec_module(PyObject *module) {
    return PyModule_AddIntConstant(module, "API_VERSION", 2);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)exec_module},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"The folder scan of dataver and the writer of a cold get's small files, in C (optional:\n"
"dataver falls back to its Python code).\n\n"
"scan() and write_files() release the GIL while they work and keep no state between calls;\n"
"the module needs no GIL (free-threaded builds) and supports sub-interpreters.");

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "dataver_native",
    .m_doc = module_doc,
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit_dataver_native(void) { return PyModuleDef_Init(&module); }
