//! Owner-only DACLs, set at creation and read back.

use super::OpenOptions;
use std::fs::File;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::FromRawHandle;
use std::path::Path;
use std::sync::OnceLock;
use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_ALREADY_EXISTS, ERROR_SUCCESS, GENERIC_READ, GENERIC_WRITE,
    HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW, ConvertSidToStringSidW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, GetSecurityInfo,
    SetNamedSecurityInfoW, SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetSecurityDescriptorDacl, GetTokenInformation, TokenUser, ACL, DACL_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY,
    TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, CreateFileW, CREATE_ALWAYS, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
    FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_ALWAYS, OPEN_EXISTING,
    TRUNCATE_EXISTING,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

/// A string Windows allocated (LocalAlloc), copied and freed.
unsafe fn take_wide(p: *mut u16) -> String {
    let mut n = 0;
    while *p.add(n) != 0 {
        n += 1;
    }
    let s = String::from_utf16_lossy(std::slice::from_raw_parts(p, n));
    LocalFree(p.cast());
    s
}

/// The SID of the user Offsite runs as, as a string (`S-1-5-21-…`).
fn user_sid() -> io::Result<&'static str> {
    static SID: OnceLock<String> = OnceLock::new();
    if let Some(s) = SID.get() {
        return Ok(s);
    }
    // SAFETY: the token handle is closed; the buffer is sized by the first call and aligned
    // for TOKEN_USER (u64 elements); the SID string is freed by take_wide.
    let sid = unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        let err = io::Error::last_os_error();
        CloseHandle(token);
        if ok == 0 {
            return Err(err);
        }
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
            return Err(io::Error::last_os_error());
        }
        take_wide(text)
    };
    Ok(SID.get_or_init(|| sid))
}

/// The owner-only security descriptor in SDDL: protected (`P`: nothing inherited from the
/// parent), one entry granting the user full access (`FA`), inherited by files and folders
/// made inside (`OICI`).
fn private_sddl() -> io::Result<String> {
    Ok(format!("D:P(A;OICI;FA;;;{})", user_sid()?))
}

/// A self-relative security descriptor built from SDDL (freed on drop).
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn private() -> io::Result<Descriptor> {
        let sddl: Vec<u16> = private_sddl()?.encode_utf16().chain(Some(0)).collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated string in, a LocalAlloc'd descriptor out (freed on drop).
        if unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        } == 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(Descriptor(sd))
    }

    fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        }
    }

    fn dacl(&self) -> io::Result<*mut ACL> {
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: the descriptor is valid; the DACL pointer points into it.
        if unsafe { GetSecurityDescriptorDacl(self.0, &mut present, &mut dacl, &mut defaulted) }
            == 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(dacl)
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

pub(super) fn open(o: &OpenOptions, path: &Path) -> io::Result<File> {
    let mut access = 0;
    if o.read {
        access |= GENERIC_READ;
    }
    if o.write {
        access |= GENERIC_WRITE;
    }
    let disposition = match (o.create, o.truncate, o.create_new) {
        (_, _, true) => CREATE_NEW,
        (false, false, false) => OPEN_EXISTING,
        (true, false, false) => OPEN_ALWAYS,
        (false, true, false) => TRUNCATE_EXISTING,
        (true, true, false) => CREATE_ALWAYS,
    };
    let sd = Descriptor::private()?;
    let sa = sd.attributes();
    let name = wide(path);
    // SAFETY: a NUL-terminated path; the security attributes outlive the call (they apply only
    // when the file is created); the handle becomes the File's.
    let h = unsafe {
        CreateFileW(
            name.as_ptr(),
            access,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            &sa,
            disposition,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle CreateFileW just returned, owned by nobody else.
    Ok(unsafe { File::from_raw_handle(h) })
}

pub(super) fn create_dir(path: &Path) -> io::Result<()> {
    let sd = Descriptor::private()?;
    let sa = sd.attributes();
    let name = wide(path);
    // SAFETY: a NUL-terminated path; the attributes outlive the call.
    if unsafe { CreateDirectoryW(name.as_ptr(), &sa) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    match create_dir(path) {
        Ok(()) => Ok(()),
        Err(e)
            if e.raw_os_error() == Some(ERROR_ALREADY_EXISTS as i32)
                || e.kind() == io::ErrorKind::AlreadyExists =>
        {
            if path.is_dir() {
                Ok(())
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

pub(super) fn tempfile_in(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(prefix).make_in(dir, |p| {
        super::open_options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(p)
    })
}

pub(super) fn tempdir_in(dir: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    // tempfile makes the folder with the parent's inherited ACL and cannot be given a security
    // descriptor: take its (random, still empty) name and make the folder again, private at
    // creation. Someone who took the name in between makes `create_dir` fail: an error, never
    // a folder that is not private.
    let d = tempfile::Builder::new().prefix(prefix).tempdir_in(dir)?;
    std::fs::remove_dir(d.path())?;
    create_dir(d.path())?;
    Ok(d)
}

/// Replace the DACL of `path` by the owner-only one (protected: the parent's entries no longer
/// apply).
fn set_private(path: &Path) -> io::Result<()> {
    let sd = Descriptor::private()?;
    let dacl = sd.dacl()?;
    let name = wide(path);
    // SAFETY: a NUL-terminated path; the DACL lives in `sd` for the call.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    Ok(())
}

/// The DACL of `path` in SDDL (`D:P(A;OICI;FA;;;S-1-5-21-…)`).
pub(super) fn dacl_sddl(path: &Path) -> io::Result<String> {
    let name = wide(path);
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path; the descriptor is LocalAlloc'd and freed by sddl_of.
    unsafe {
        let rc = GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        );
        if rc != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        sddl_of(sd)
    }
}

/// The DACL of an open file, in SDDL (read from the handle, not by its path again).
fn dacl_sddl_of(file: &File) -> io::Result<String> {
    use std::os::windows::io::AsRawHandle;
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a handle open for reading (GENERIC_READ includes READ_CONTROL) for the call's
    // length; the descriptor is LocalAlloc'd and freed by sddl_of.
    unsafe {
        let rc = GetSecurityInfo(
            file.as_raw_handle(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        );
        if rc != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        sddl_of(sd)
    }
}

/// A security descriptor Windows allocated (LocalAlloc: from GetSecurityInfo or
/// GetNamedSecurityInfoW, never used after) as SDDL text; the descriptor is freed.
fn sddl_of(sd: PSECURITY_DESCRIPTOR) -> io::Result<String> {
    // SAFETY: a descriptor as said above; the SDDL string is freed by take_wide.
    unsafe {
        let mut text: *mut u16 = std::ptr::null_mut();
        let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut text,
            std::ptr::null_mut(),
        );
        let err = io::Error::last_os_error();
        LocalFree(sd);
        if ok == 0 {
            return Err(err);
        }
        Ok(take_wide(text))
    }
}

/// Whether a DACL in SDDL grants nothing to anyone but `sid` and the operating system itself
/// (`SY`, LocalSystem: what root is on Unix, which reads a 0600 file too): a DACL is present
/// (not `NO_ACCESS_CONTROL`), every allowing entry names one of them, one names `sid` (deny
/// entries only take away).
pub(super) fn sddl_is_private(sddl: &str, sid: &str) -> bool {
    let Some(dacl) = sddl.strip_prefix("D:") else {
        return false;
    };
    let Some(start) = dacl.find('(') else {
        return false; // no entry at all, or NO_ACCESS_CONTROL: a null DACL lets everyone in
    };
    if dacl[..start].contains("NO_ACCESS_CONTROL") {
        return false;
    }
    let mut any = false;
    for ace in dacl[start..].split(')') {
        let ace = ace.trim_start_matches('(');
        if ace.is_empty() {
            continue;
        }
        let fields: Vec<&str> = ace.split(';').collect();
        let (kind, trustee) = (fields[0], fields.get(5).copied().unwrap_or(""));
        match kind {
            "D" | "OD" => {}
            _ if trustee.eq_ignore_ascii_case(sid) => any = true,
            _ if trustee == "SY" => {}
            _ => return false,
        }
    }
    any
}

pub(super) fn open_private_file(path: &Path) -> io::Result<super::Opened> {
    use super::Opened;
    use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_OPEN_REPARSE_POINT,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)?;
    let md = f.metadata()?;
    if md.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 || md.file_type().is_symlink() {
        return Ok(Opened::Link);
    }
    if !md.is_file() {
        return Ok(Opened::NotFile);
    }
    if !sddl_is_private(&dacl_sddl_of(&f)?, user_sid()?) {
        return Ok(Opened::NotPrivate);
    }
    Ok(Opened::File(f, md.len()))
}

pub(super) fn is_private(path: &Path) -> io::Result<bool> {
    let md = std::fs::symlink_metadata(path)?;
    if md.file_type().is_symlink() {
        return Ok(false);
    }
    Ok(sddl_is_private(&dacl_sddl(path)?, user_sid()?))
}

pub(super) fn tighten(path: &Path) -> io::Result<Option<String>> {
    let md = std::fs::symlink_metadata(path)?;
    if md.file_type().is_symlink() {
        return Ok(None);
    }
    let old = dacl_sddl(path)?;
    if sddl_is_private(&old, user_sid()?) {
        return Ok(None);
    }
    set_private(path)?;
    if !is_private(path)? {
        return Err(io::Error::other(format!(
            "{}: the owner-only ACL did not hold",
            path.display()
        )));
    }
    Ok(Some(format!("ACL {old}")))
}

pub(super) fn private_words(_is_dir: bool) -> String {
    "an ACL for its owner only".into()
}
