using WeSaR.Model.Checkpoints;

namespace WeSaR.Training.Loop;

/// <summary>A checkpoint a run passed over at its start, and why.</summary>
public sealed record RejectedCheckpoint(long Step, string Reason);

/// <summary>
/// Where a run really starts: <c>Checkpoint</c> (null: the initialisation) at <c>Point</c>, and the checkpoints it
/// passed over on the way, newest first. `wesar train --resume` and a sweep's resume both start through
/// <see cref="Choose"/>.
/// </summary>
public sealed record StartChoice(Checkpoint? Checkpoint, ResumePoint Point, IReadOnlyList<RejectedCheckpoint> Rejected)
{
    /// <summary>
    /// The newest checkpoint at or before <paramref name="from"/>'s step that loads with every hash verified; where
    /// <paramref name="from"/> names a manifest hash, a checkpoint at its step with another manifest is not the
    /// committed one and is passed over too. None left: the initialisation.
    /// </summary>
    /// <param name="onDisk">The committed checkpoints on disk, in any order.</param>
    /// <param name="load">Reads and verifies one checkpoint: the checkpoint, or the problem that stops it.</param>
    public static StartChoice Choose(ResumePoint from, IReadOnlyList<CheckpointInfo> onDisk, Func<CheckpointInfo, (Checkpoint? Checkpoint, string? Problem)> load)
    {
        if (from.Step == 0) return new(null, from, []);
        var rejected = new List<RejectedCheckpoint>();
        var candidates = onDisk.Where(c => c.Step <= from.Step).OrderByDescending(c => c.Step).ToList();
        if (from.ManifestSha256 is { } sha)
        {
            var committed = candidates.FirstOrDefault(c => c.Step == from.Step);
            if (committed is null) rejected.Add(new(from.Step, "the committed checkpoint is missing"));
            else if (committed.ManifestSha256 != sha)
            {
                rejected.Add(new(from.Step, "not the committed checkpoint (manifest hash differs)"));
                candidates.Remove(committed);
            }
        }
        foreach (var c in candidates)
        {
            var (checkpoint, problem) = load(c);
            // The data skip and learning-rate scale of a point belong to its own checkpoint (a rollback decided after it).
            if (checkpoint is not null) return new(checkpoint, c.Step == from.Step ? from : new ResumePoint(c.Step, c.ManifestSha256), rejected);
            rejected.Add(new(c.Step, problem!));
        }
        return new(null, ResumePoint.Fresh, rejected);
    }
}
