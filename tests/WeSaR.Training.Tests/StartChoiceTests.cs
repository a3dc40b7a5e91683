using WeSaR.Model.Checkpoints;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

/// <summary>Which checkpoint a run starts from, decided without a disk: the loads are given as a function.</summary>
public sealed class StartChoiceTests
{
    static readonly CheckpointInfo[] OnDisk = [Info(10), Info(20), Info(30)];

    static CheckpointInfo Info(long step) => new(step, $"step-{step}", $"sha{step}");

    static Func<CheckpointInfo, (Checkpoint?, string?)> Loads(params long[] damaged) => c =>
        damaged.Contains(c.Step) ? (null, $"{c.Path}: model.bin does not match its manifest hash") : (new Checkpoint(c.Step, new Dictionary<string, byte[]>()), null);

    [Fact]
    public void The_committed_checkpoint_is_used_with_its_skip_and_scale_when_it_verifies()
    {
        var from = new ResumePoint(30, "sha30", 4, 0.5);
        var c = StartChoice.Choose(from, OnDisk, Loads());
        Assert.Equal((30L, from), (c.Checkpoint!.Step, c.Point));
        Assert.Empty(c.Rejected);
    }

    [Fact]
    public void A_damaged_committed_checkpoint_falls_back_to_the_newest_older_one_that_verifies()
    {
        var c = StartChoice.Choose(new ResumePoint(30, "sha30", 4, 0.5), OnDisk, Loads(30, 20));
        Assert.Equal(10, c.Checkpoint!.Step);
        // The rollback's skip and scale belong to the rejected checkpoint, so the older one starts plain.
        Assert.Equal(new ResumePoint(10, "sha10"), c.Point);
        Assert.Equal([30L, 20L], c.Rejected.Select(r => r.Step));
        Assert.All(c.Rejected, r => Assert.Contains("does not match its manifest hash", r.Reason));
    }

    [Fact]
    public void A_missing_or_replaced_committed_checkpoint_is_rejected_and_newer_ones_are_never_candidates()
    {
        var missing = StartChoice.Choose(new ResumePoint(25, "sha25"), OnDisk, Loads());
        Assert.Equal((new ResumePoint(20, "sha20"), 25L), (missing.Point, missing.Rejected.Single().Step));
        Assert.Contains("missing", missing.Rejected.Single().Reason);

        var replaced = StartChoice.Choose(new ResumePoint(30, "other"), OnDisk, Loads());
        Assert.Equal(new ResumePoint(20, "sha20"), replaced.Point);
        Assert.Contains("manifest hash differs", replaced.Rejected.Single().Reason);
    }

    [Fact]
    public void Nothing_left_that_verifies_starts_from_the_initialisation()
    {
        var none = StartChoice.Choose(new ResumePoint(30, "sha30"), [], Loads());
        Assert.Equal((null, ResumePoint.Fresh), (none.Checkpoint, none.Point));
        Assert.Single(none.Rejected);

        var allDamaged = StartChoice.Choose(new ResumePoint(30, "sha30"), OnDisk, Loads(10, 20, 30));
        Assert.Equal((null, ResumePoint.Fresh, 3), (allDamaged.Checkpoint, allDamaged.Point, allDamaged.Rejected.Count));
    }

    [Fact]
    public void Without_a_manifest_hash_the_newest_verifying_checkpoint_is_used_and_a_fresh_start_loads_nothing()
    {
        var newest = StartChoice.Choose(ResumePoint.Newest, OnDisk, Loads(30));
        Assert.Equal((new ResumePoint(20, "sha20"), 30L), (newest.Point, newest.Rejected.Single().Step));
        Assert.Empty(StartChoice.Choose(ResumePoint.Newest, [], Loads()).Rejected);

        // Back to the initialisation by a rollback: its skip and scale stay, and no checkpoint is even read.
        var rolledBack = new ResumePoint(0, null, 9, 0.5);
        var fresh = StartChoice.Choose(rolledBack, OnDisk, _ => throw new InvalidOperationException("nothing to load"));
        Assert.Equal((null, rolledBack), (fresh.Checkpoint, fresh.Point));
    }

    [Fact]
    public void On_disk_the_exact_checkpoint_loads_and_one_with_another_manifest_is_passed_over()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention());
        var first = store.Save(new Checkpoint(10, new Dictionary<string, byte[]> { ["a"] = [1] }));
        var committed = store.Save(new Checkpoint(20, new Dictionary<string, byte[]> { ["a"] = [2] }));
        StartChoice Start(ResumePoint p) => StartChoice.Choose(p, store.List(), c => CheckpointStore.TryLoad(c.Path));

        Assert.Equal([2], Start(new ResumePoint(20, committed.ManifestSha256)).Checkpoint!.File("a"));
        var other = Start(new ResumePoint(20, new string('0', 64)));
        Assert.Equal((new ResumePoint(10, first.ManifestSha256), 20L), (other.Point, other.Rejected.Single().Step));
    }
}
