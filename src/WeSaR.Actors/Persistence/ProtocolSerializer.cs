using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Persistence;

/// <summary>
/// JSON with a short, versioned, string manifest for every persisted type (events and the coordinator's
/// snapshot), so journals outlive renames and refactorings, and for every <see cref="IWireMessage"/>, so what crosses
/// the network names no .NET type either. A new shape gets a new manifest; old manifests keep mapping to a type that
/// reads them. Unknown manifests fail loudly. Actor references travel as their serialized paths.
/// </summary>
public sealed class ProtocolSerializer : SerializerWithStringManifest
{
    static readonly Dictionary<string, Type> Persisted = new()
    {
        ["SweepStarted.v1"] = typeof(SweepStarted),
        ["RunScheduled.v1"] = typeof(RunScheduled),
        ["RunAssigned.v1"] = typeof(RunAssigned),
        ["CheckpointCommitted.v1"] = typeof(CheckpointCommitted),
        ["CheckpointRejected.v1"] = typeof(CheckpointRejected),
        ["SpikeDetected.v1"] = typeof(SpikeDetected),
        ["RolledBack.v1"] = typeof(RolledBack),
        ["RunRestarted.v1"] = typeof(RunRestarted),
        ["RunCompleted.v1"] = typeof(RunCompleted),
        ["RunFailed.v1"] = typeof(RunFailed),
        ["SweepCompleted.v1"] = typeof(SweepCompleted),
        ["RunRetried.v1"] = typeof(RunRetried),
        ["RunInterrupted.v1"] = typeof(RunInterrupted),
        ["SpikeRiskRaised.v1"] = typeof(SpikeRiskRaised),
        ["SpikeRiskCleared.v1"] = typeof(SpikeRiskCleared),
        ["SpikeClassified.v1"] = typeof(SpikeClassified),
        ["SweepState.v1"] = typeof(SweepState),
        ["SweepAdmitted.v1"] = typeof(Cluster.SweepAdmitted),
    };

    // Every wire message by its own name, version 1 (SweepAdmitted is persisted too, under the same manifest).
    static readonly Dictionary<string, Type> Wire = typeof(IWireMessage).Assembly.GetTypes()
        .Where(t => t.IsClass && typeof(IWireMessage).IsAssignableFrom(t) && !Persisted.ContainsValue(t)).ToDictionary(t => t.Name + ".v1");

    static readonly Dictionary<string, Type> Types = Persisted.Concat(Wire).ToDictionary();
    static readonly Dictionary<Type, string> Manifests = Types.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Every manifest a journal may hold (the golden-payload tests cover each).</summary>
    public static IReadOnlyCollection<string> PersistedManifests => Persisted.Keys;

    /// <summary>Every manifest of a message between nodes.</summary>
    public static IReadOnlyCollection<string> WireManifests => Wire.Keys;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // Json plus actor references, which only this actor system can resolve.
    readonly JsonSerializerOptions json;

    public ProtocolSerializer(ExtendedActorSystem system) : base(system) =>
        json = new JsonSerializerOptions(Json) { Converters = { new ActorRefConverter(system) } };

    public override int Identifier => 4170;

    public override string Manifest(object o) => ManifestOf(o.GetType());

    /// <summary>The manifest a type is written under (what the journal stores beside each event).</summary>
    public static string ManifestOf(Type t) =>
        Manifests.TryGetValue(t, out var m) ? m : throw new ArgumentException($"{t} is not a type of {nameof(ProtocolSerializer)}");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), json);

    public override object FromBinary(byte[] bytes, string manifest) =>
        Types.TryGetValue(manifest, out var t)
            ? JsonSerializer.Deserialize(bytes, t, json)!
            : throw new System.Runtime.Serialization.SerializationException($"unknown manifest '{manifest}' (written by a newer wesar?)");

    // A reference as Akka writes it for the current transport (with this node's address when it goes remote), and back.
    sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            system.Provider.ResolveActorRef(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Serialization.SerializedActorPath(value));
    }
}
