//! Storage's objects in a parity report: the backup's objects against the target's, read by
//! planning the same storage restore again after it ran (the plan compares each key's size and
//! checksum: an ETag equal to the archived one or to the MD5 of the archived bytes, else the
//! target's bytes downloaded and hashed with SHA-256). Planned in mirror mode, so that the
//! target's keys the backup lacks are named too; a plan changes nothing.

use super::{name_of, Evidence, PartParity, PartVerdict, MAX_LISTED};
use crate::storage::restore::StoragePlan;

/// `plan`: the storage restore planned against its target after it ran, in mirror mode.
pub fn objects(plan: &StoragePlan) -> PartParity {
    let mut differences = Vec::new();
    for b in &plan.buckets {
        let name = &b.target_bucket;
        if b.create {
            differences.push(format!("missing in the target: bucket {name}"));
            continue;
        }
        let missing = b.upload - b.overwrite;
        if missing > 0 {
            differences.push(format!(
                "{name}: {} missing in the target",
                crate::words::count(missing as usize, "object")
            ));
        }
        for key in &b.overwrite_sample {
            differences.push(format!("{name}: differs: {key}"));
        }
        let unnamed = b.overwrite.saturating_sub(b.overwrite_sample.len() as u64);
        if unnamed > 0 {
            differences.push(format!("{name}: … and {unnamed} more that differ"));
        }
        if b.keep_different > 0 {
            differences.push(format!(
                "{name}: {} with other content",
                crate::words::count(b.keep_different as usize, "file")
            ));
        }
        for key in &b.delete_sample {
            differences.push(format!("{name}: only in the target: {key}"));
        }
        let unnamed = b.delete.saturating_sub(b.delete_sample.len() as u64);
        if unnamed > 0 {
            differences.push(format!("{name}: … and {unnamed} more only in the target"));
        }
    }
    let total = differences.len();
    if total > MAX_LISTED {
        differences.truncate(MAX_LISTED);
        differences.push(format!("… and {} more lines", total - MAX_LISTED));
    }
    PartParity {
        part: "storage-objects".into(),
        name: name_of("storage-objects"),
        verdict: if total == 0 {
            PartVerdict::Equal
        } else {
            PartVerdict::Differs
        },
        evidence: Evidence::Files,
        compared: format!(
            "{} in {} (key, size, checksum)",
            crate::words::count(plan.objects as usize, "object"),
            crate::words::count(plan.buckets.len(), "bucket")
        ),
        differences,
        note: None,
        absent_in_target: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::restore::BucketPlan;

    #[test]
    fn every_kind_of_difference_is_named_by_bucket() {
        let mut plan = StoragePlan {
            archive: "a".into(),
            backup_id: "b".into(),
            project: "p".into(),
            created_at: "c".into(),
            sources: Vec::new(),
            target: "t".into(),
            mirror: true,
            overwrite: true,
            buckets: Vec::new(),
            objects: 4,
            bytes: 1,
            upload: 0,
            upload_bytes: 0,
            overwrite_count: 0,
            identical: 4,
            keep_different: 0,
            delete: 0,
            delete_bytes: 0,
            blockers: Vec::new(),
            warnings: Vec::new(),
        };
        plan.buckets.push(BucketPlan {
            bucket: "avatars".into(),
            target_bucket: "avatars".into(),
            objects: 4,
            identical: 4,
            ..Default::default()
        });
        let p = objects(&plan);
        assert_eq!(p.verdict, PartVerdict::Equal);
        assert_eq!(p.compared, "4 objects in 1 bucket (key, size, checksum)");
        let b = &mut plan.buckets[0];
        b.identical = 1;
        b.upload = 3;
        b.overwrite = 1;
        b.overwrite_sample = vec!["a.png".into()];
        b.delete = 1;
        b.delete_sample = vec!["stray.txt".into()];
        plan.buckets.push(BucketPlan {
            bucket: "docs".into(),
            target_bucket: "docs".into(),
            create: true,
            ..Default::default()
        });
        let p = objects(&plan);
        assert_eq!(p.verdict, PartVerdict::Differs);
        assert_eq!(
            p.differences,
            [
                "avatars: 2 objects missing in the target",
                "avatars: differs: a.png",
                "avatars: only in the target: stray.txt",
                "missing in the target: bucket docs"
            ]
        );
    }
}
