namespace WeSaR.Model.Checkpoints;

/// <summary>A training state at a step: named files (weights, optimizer, trainer state), held in memory.</summary>
public sealed record Checkpoint(long Step, IReadOnlyDictionary<string, byte[]> Files)
{
    public byte[] File(string name) =>
        Files.TryGetValue(name, out var bytes) ? bytes : throw new InvalidDataException($"checkpoint at step {Step} has no file '{name}'");
}

/// <summary>A committed checkpoint on disk; the manifest hash identifies its exact contents.</summary>
public sealed record CheckpointInfo(long Step, string Path, string ManifestSha256);

/// <summary>What to keep on disk: the newest <c>KeepLast</c>, plus every step divisible by <c>KeepEvery</c> (0: none).</summary>
public sealed record Retention(int KeepLast = 3, long KeepEvery = 0)
{
    public bool Keeps(long step, int rankFromNewest) =>
        rankFromNewest < KeepLast || (KeepEvery > 0 && step % KeepEvery == 0);
}
