using WeSaR.Model.Checkpoints;
using WeSaR.TestSupport;

namespace WeSaR.Model.Tests;

public class CheckpointStoreTests
{
    static Checkpoint Make(long step) => new(step, new Dictionary<string, byte[]>
    {
        ["a.bin"] = BitConverter.GetBytes(step),
        ["b.json"] = System.Text.Encoding.UTF8.GetBytes($"{{\"step\":{step}}}"),
    });

    [Fact]
    public void Saved_checkpoints_load_back_byte_for_byte()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention(KeepLast: 5));
        var info = store.Save(Make(10));
        Assert.Equal(Path.Combine(dir.Path, "step-000000010"), info.Path);
        Assert.Equal(64, info.ManifestSha256.Length);
        var back = CheckpointStore.Load(info.Path);
        Assert.Equal(10, back.Step);
        Assert.Equal(Make(10).Files["a.bin"], back.Files["a.bin"]);
        Assert.Empty(Directory.GetDirectories(dir.Path, ".tmp-*"));
    }

    [Fact]
    public void A_damaged_file_fails_its_hash_and_TryLoad_names_the_problem()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention(KeepLast: 5));
        store.Save(Make(10));
        var newest = store.Save(Make(20));
        var file = Path.Combine(newest.Path, "a.bin");
        var bytes = File.ReadAllBytes(file);
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(file, bytes);

        Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(newest.Path));
        var (damaged, problem) = CheckpointStore.TryLoad(newest.Path);
        Assert.Null(damaged);
        Assert.Contains("a.bin does not match its manifest hash", problem);
        var (older, none) = CheckpointStore.TryLoad(store.List()[0].Path);
        Assert.Equal((10L, null), (older!.Step, none));
        Assert.Contains("manifest.json", CheckpointStore.TryLoad(Path.Combine(dir.Path, "nowhere")).Problem);
    }

    [Fact]
    public void Half_written_temp_folders_are_never_listed_and_are_cleared_on_open()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention());
        store.Save(Make(5));
        // What a crash mid-save leaves behind: a temp folder with some files and no rename.
        var partial = Directory.CreateDirectory(Path.Combine(dir.Path, ".tmp-step-000000010-abc"));
        File.WriteAllBytes(Path.Combine(partial.FullName, "a.bin"), [1, 2, 3]);
        Assert.Equal([5L], store.List().Select(c => c.Step));
        _ = new CheckpointStore(dir.Path, new Retention());
        Assert.False(partial.Exists && Directory.Exists(partial.FullName));
    }

    [Fact]
    public void Retention_keeps_the_newest_and_the_milestones()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention(KeepLast: 2, KeepEvery: 100));
        foreach (var s in new long[] { 50, 100, 150, 200, 250, 300, 350 }) store.Save(Make(s));
        Assert.Equal(7, store.List().Count);   // saving alone never prunes: the caller prunes once the save is committed
        store.Prune();
        Assert.Equal([100L, 200, 300, 350], store.List().Select(c => c.Step));
    }

    [Fact]
    public void Resaving_a_step_replaces_it_and_DeleteAfter_drops_a_rolled_back_future()
    {
        using var dir = TestEnv.NewTempDir();
        var store = new CheckpointStore(dir.Path, new Retention(KeepLast: 10));
        foreach (var s in new long[] { 10, 20, 30 }) store.Save(Make(s));
        store.DeleteAfter(10);
        Assert.Equal([10L], store.List().Select(c => c.Step));
        var replaced = new Checkpoint(10, new Dictionary<string, byte[]> { ["a.bin"] = [42] });
        store.Save(replaced);
        Assert.Equal([42], CheckpointStore.Load(store.List().Single().Path).Files["a.bin"]);
    }
}
