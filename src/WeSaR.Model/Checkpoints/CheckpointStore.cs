using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WeSaR.Model.Checkpoints;

/// <summary>
/// Checkpoints on disk, one folder per step ("step-000000100"), each with a manifest of SHA-256 per file.
/// A save writes a hidden temp folder, flushes every file to disk, writes the manifest last and renames the
/// folder into place: the rename is the commit, so a crash leaves either the old set or a stray temp folder
/// (removed on the next open), never a half checkpoint that looks valid. Loads verify every hash.
/// Retention is applied by <see cref="Prune"/>, which the caller runs once a save is committed elsewhere too
/// (the journal), so the checkpoint a resume needs is never pruned in favour of an uncommitted one.
/// </summary>
public sealed class CheckpointStore
{
    const string ManifestName = "manifest.json";
    const string TempPrefix = ".tmp-";
    readonly Retention retention;

    public string Directory { get; }

    public CheckpointStore(string directory, Retention retention)
    {
        Directory = directory;
        this.retention = retention;
        System.IO.Directory.CreateDirectory(directory);
        foreach (var stale in System.IO.Directory.GetDirectories(directory, TempPrefix + "*"))
            System.IO.Directory.Delete(stale, recursive: true);
    }

    public static string FolderName(long step) => $"step-{step:D9}";

    /// <param name="halfway">Runs after the files are written and before the commit rename (a hook for crash tests).</param>
    public CheckpointInfo Save(Checkpoint checkpoint, Action? halfway = null)
    {
        var temp = Path.Combine(Directory, $"{TempPrefix}{FolderName(checkpoint.Step)}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(temp);
        var entries = new List<ManifestFile>();
        foreach (var (name, bytes) in checkpoint.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            WriteDurably(Path.Combine(temp, name), bytes);
            entries.Add(new ManifestFile(name, bytes.LongLength, Sha256(bytes)));
        }
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new Manifest(1, checkpoint.Step, DateTime.UtcNow, entries), Json);
        WriteDurably(Path.Combine(temp, ManifestName), manifest);
        halfway?.Invoke();

        var final = Path.Combine(Directory, FolderName(checkpoint.Step));
        if (System.IO.Directory.Exists(final))
        {
            // Re-saving a step (after a rollback): move the old one aside first so the rename stays the commit.
            var old = Path.Combine(Directory, $"{TempPrefix}old-{Guid.NewGuid():N}");
            System.IO.Directory.Move(final, old);
            System.IO.Directory.Move(temp, final);
            System.IO.Directory.Delete(old, recursive: true);
        }
        else
        {
            System.IO.Directory.Move(temp, final);
        }
        return new CheckpointInfo(checkpoint.Step, final, Sha256(manifest));
    }

    /// <summary>Committed checkpoints, oldest first (manifests read, file hashes not yet checked).</summary>
    public IReadOnlyList<CheckpointInfo> List() => Committed(Directory);

    /// <summary>Like <see cref="List"/>, for a reader: opens no store, so stray temp folders stay (a trainer may be writing one).</summary>
    public static IReadOnlyList<CheckpointInfo> Committed(string directory) =>
        System.IO.Directory.GetDirectories(directory, "step-*")
            .Select(dir => (dir, manifest: Path.Combine(dir, ManifestName)))
            .Where(x => File.Exists(x.manifest))
            .Select(x =>
            {
                var bytes = File.ReadAllBytes(x.manifest);
                return new CheckpointInfo(JsonSerializer.Deserialize<Manifest>(bytes, Json)!.Step, x.dir, Sha256(bytes));
            })
            .OrderBy(c => c.Step).ToList();

    /// <summary>Reads a checkpoint and checks every file against its manifest.</summary>
    public static Checkpoint Load(string folder)
    {
        var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(Path.Combine(folder, ManifestName)), Json)
            ?? throw new InvalidDataException($"{folder}: empty manifest");
        var files = new Dictionary<string, byte[]>();
        foreach (var f in manifest.Files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(folder, f.Name));
            if (bytes.LongLength != f.Bytes || Sha256(bytes) != f.Sha256)
                throw new InvalidDataException($"{folder}: {f.Name} does not match its manifest hash");
            files[f.Name] = bytes;
        }
        return new Checkpoint(manifest.Step, files);
    }

    /// <summary>Like <see cref="Load"/>, but a damaged or unreadable checkpoint gives its problem instead of throwing.</summary>
    public static (Checkpoint? Checkpoint, string? Problem) TryLoad(string folder)
    {
        try { return (Load(folder), null); }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException) { return (null, e.Message); }
    }

    /// <summary>Deletes checkpoints newer than <paramref name="step"/> (they belong to a history that was rolled back).</summary>
    public void DeleteAfter(long step)
    {
        foreach (var c in List().Where(c => c.Step > step)) System.IO.Directory.Delete(c.Path, recursive: true);
    }

    /// <summary>Deletes what the retention rule does not keep.</summary>
    public void Prune()
    {
        var all = List();
        for (var i = 0; i < all.Count; i++)
            if (!retention.Keeps(all[i].Step, all.Count - 1 - i)) System.IO.Directory.Delete(all[i].Path, recursive: true);
    }

    static void WriteDurably(string path, byte[] bytes)
    {
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        fs.Write(bytes);
        fs.Flush(flushToDisk: true);
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    sealed record Manifest(int Format, long Step, DateTime CreatedUtc, List<ManifestFile> Files);

    sealed record ManifestFile(string Name, long Bytes, string Sha256);
}
