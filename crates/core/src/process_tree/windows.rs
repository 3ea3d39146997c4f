//! Job Objects.

use super::Tree;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::process::{Child, Command};
use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

pub(super) fn spawn(cmd: &mut Command) -> io::Result<(Child, Tree)> {
    cmd.creation_flags(CREATE_SUSPENDED);
    let mut child = cmd.spawn()?;
    match adopt(&child) {
        Ok(tree) => Ok((child, tree)),
        Err(e) => {
            // It never ran a single instruction: end it rather than leave it suspended.
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Put the suspended `child` into a new job that dies with its last handle, then resume it.
fn adopt(child: &Child) -> io::Result<Tree> {
    // SAFETY: plain Win32 calls on handles this function owns or borrows for the call.
    unsafe {
        let raw = CreateJobObjectW(std::ptr::null(), std::ptr::null());
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        let job = OwnedHandle::from_raw_handle(raw);
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if SetInformationJobObject(
            job.as_raw_handle(),
            JobObjectExtendedLimitInformation,
            (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        if AssignProcessToJobObject(job.as_raw_handle(), child.as_raw_handle()) == 0 {
            return Err(io::Error::last_os_error());
        }
        resume_threads(child.id())?;
        Ok(Tree {
            pid: child.id(),
            job,
        })
    }
}

/// Resume the threads of process `pid` (a process started suspended has one).
fn resume_threads(pid: u32) -> io::Result<()> {
    // SAFETY: the snapshot handle is closed on every path; THREADENTRY32 is plain data whose
    // size field is set as the API requires.
    unsafe {
        let snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snap == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        let mut entry: THREADENTRY32 = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut resumed = 0;
        let mut more = Thread32First(snap, &mut entry) != 0;
        while more {
            if entry.th32OwnerProcessID == pid {
                let thread = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !thread.is_null() {
                    // ResumeThread returns the count before it: resume until it runs.
                    loop {
                        let before = ResumeThread(thread);
                        if before == u32::MAX {
                            break;
                        }
                        if before <= 1 {
                            resumed += 1;
                            break;
                        }
                    }
                    CloseHandle(thread);
                }
            }
            more = Thread32Next(snap, &mut entry) != 0;
        }
        CloseHandle(snap);
        if resumed == 0 {
            return Err(io::Error::other(format!(
                "the started process {pid} has no thread that could be resumed"
            )));
        }
    }
    Ok(())
}

pub(super) fn kill(tree: &Tree) {
    // SAFETY: the job handle is owned by the tree and open.
    unsafe {
        TerminateJobObject(tree.job.as_raw_handle(), 1);
    }
}
