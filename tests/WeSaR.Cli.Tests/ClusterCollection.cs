namespace WeSaR.Cli.Tests;

/// <summary>
/// Cluster tests run alone: their nodes' failure detectors must not mistake a machine busy with other tests'
/// training for a dead node (2 cores in CI).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster nodes";
}
