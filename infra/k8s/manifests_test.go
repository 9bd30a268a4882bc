package k8s

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/shared/config"
)

const (
	// watchdogPort is where of-watchdog serves a function's pod.
	watchdogPort = 8080
	// monitoringNamespace is where Prometheus runs (infra/monitoring).
	monitoringNamespace = "monitoring"
	// connectionReserve is what PostgreSQL keeps beyond the functions'
	// pools: superuser slots, the operator, replication, an operator's psql.
	connectionReserve = 20
)

// cronFunctions answer POST / to a schedule (their handler.go says so);
// outboxFunctions run the webhook deliverer and POST to department systems
// (functions/case-submit/desk.go, functions/logistics-callback/desk.go).
var (
	cronFunctions   = []string{"case-submit", "warning-scan"}
	outboxFunctions = []string{"case-submit", "logistics-callback"}
)

// --- decoding ---------------------------------------------------------------

// The CloudNativePG and Barman Cloud custom resources have no types in
// k8s.io/api, and their operator modules would pull a large dependency tree
// into infra/ for three structs. These carry only the fields the manifests
// set, so strict decoding still rejects anything misspelt; add a field
// here when a manifest needs a new one (and check its name in the CRD).

type cnpgCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy"`
		PostgreSQL            struct {
			Parameters  map[string]string `json:"parameters"`
			Synchronous *struct {
				Method         string `json:"method"`
				Number         int    `json:"number"`
				DataDurability string `json:"dataDurability"`
			} `json:"synchronous"`
		} `json:"postgresql"`
		Bootstrap struct {
			InitDB struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
				// Secret holds the owner's username and password.
				Secret corev1.LocalObjectReference `json:"secret"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		EnableSuperuserAccess *bool                       `json:"enableSuperuserAccess"`
		Storage               cnpgStorage                 `json:"storage"`
		WALStorage            cnpgStorage                 `json:"walStorage"`
		Resources             corev1.ResourceRequirements `json:"resources"`
		Affinity              struct {
			EnablePodAntiAffinity bool   `json:"enablePodAntiAffinity"`
			PodAntiAffinityType   string `json:"podAntiAffinityType"`
			TopologyKey           string `json:"topologyKey"`
		} `json:"affinity"`
		Plugins []struct {
			Name          string            `json:"name"`
			IsWALArchiver bool              `json:"isWALArchiver"`
			Parameters    map[string]string `json:"parameters"`
		} `json:"plugins"`
	} `json:"spec"`
}

type cnpgStorage struct {
	Size resource.Quantity `json:"size"`
}

type cnpgScheduledBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Schedule             string `json:"schedule"`
		BackupOwnerReference string `json:"backupOwnerReference"`
		Cluster              struct {
			Name string `json:"name"`
		} `json:"cluster"`
		Method              string `json:"method"`
		PluginConfiguration struct {
			Name string `json:"name"`
		} `json:"pluginConfiguration"`
	} `json:"spec"`
}

type barmanObjectStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		RetentionPolicy string `json:"retentionPolicy"`
		Configuration   struct {
			DestinationPath string `json:"destinationPath"`
			EndpointURL     string `json:"endpointURL"`
			S3Credentials   struct {
				AccessKeyID     corev1.SecretKeySelector `json:"accessKeyId"`
				SecretAccessKey corev1.SecretKeySelector `json:"secretAccessKey"`
			} `json:"s3Credentials"`
			WAL  compression `json:"wal"`
			Data compression `json:"data"`
		} `json:"configuration"`
	} `json:"spec"`
}

type compression struct {
	Compression string `json:"compression"`
}

// kinds maps "apiVersion/kind" to the type a document of that kind decodes
// into. A kind missing here fails the test: add it with its type.
var kinds = map[string]func() any{
	"v1/Namespace":                          func() any { return &corev1.Namespace{} },
	"v1/Secret":                             func() any { return &corev1.Secret{} },
	"v1/Service":                            func() any { return &corev1.Service{} },
	"apps/v1/StatefulSet":                   func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":         func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":    func() any { return &networkingv1.NetworkPolicy{} },
	"postgresql.cnpg.io/v1/Cluster":         func() any { return &cnpgCluster{} },
	"postgresql.cnpg.io/v1/ScheduledBackup": func() any { return &cnpgScheduledBackup{} },
	"barmancloud.cnpg.io/v1/ObjectStore":    func() any { return &barmanObjectStore{} },
}

// decodeDocument decodes one YAML document into the type its apiVersion and
// kind name, refusing unknown kinds, unknown fields and duplicate keys.
func decodeDocument(doc []byte) (metav1.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	newObject, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q of apiVersion %q", tm.Kind, tm.APIVersion)
	}
	obj := newObject()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj.(metav1.Object), nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments splits a multi-document YAML file, dropping documents that
// hold only comments.
func splitDocuments(raw []byte) [][]byte {
	var docs [][]byte
	for _, part := range documentSeparator.Split(string(raw), -1) {
		for _, line := range strings.Split(part, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				docs = append(docs, []byte(part))
				break
			}
		}
	}
	return docs
}

// isValues tells Helm values files, which are no manifests, from the rest.
func isValues(path string) bool { return strings.HasSuffix(path, "-values.yaml") }

// bundle is every object of every manifest in this directory, by type.
type bundle struct {
	namespaces   []*corev1.Namespace
	secrets      []*corev1.Secret
	services     []*corev1.Service
	statefulSets []*appsv1.StatefulSet
	budgets      []*policyv1.PodDisruptionBudget
	policies     []*networkingv1.NetworkPolicy
	clusters     []*cnpgCluster
	backups      []*cnpgScheduledBackup
	objectStores []*barmanObjectStore
}

func loadBundle(t *testing.T) *bundle {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found (%v)", err)
	}
	var b bundle
	for _, file := range files {
		if isValues(file) {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(raw) {
			obj, err := decodeDocument(doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			switch o := obj.(type) {
			case *corev1.Namespace:
				b.namespaces = append(b.namespaces, o)
			case *corev1.Secret:
				b.secrets = append(b.secrets, o)
			case *corev1.Service:
				b.services = append(b.services, o)
			case *appsv1.StatefulSet:
				b.statefulSets = append(b.statefulSets, o)
			case *policyv1.PodDisruptionBudget:
				b.budgets = append(b.budgets, o)
			case *networkingv1.NetworkPolicy:
				b.policies = append(b.policies, o)
			case *cnpgCluster:
				b.clusters = append(b.clusters, o)
			case *cnpgScheduledBackup:
				b.backups = append(b.backups, o)
			case *barmanObjectStore:
				b.objectStores = append(b.objectStores, o)
			}
		}
	}
	return &b
}

// find returns the object called name in namespace.
func find[T metav1.Object](t *testing.T, items []T, namespace, name string) T {
	t.Helper()
	for _, it := range items {
		if it.GetNamespace() == namespace && it.GetName() == name {
			return it
		}
	}
	var zero T
	t.Fatalf("no %T %s/%s in the manifests", zero, namespace, name)
	return zero
}

// openfaasValues are the keys infra/k8s/openfaas-values.yaml sets.
type openfaasValues struct {
	OpenfaasPro       bool   `json:"openfaasPro"`
	ClusterRole       bool   `json:"clusterRole"`
	FunctionNamespace string `json:"functionNamespace"`
	BasicAuth         bool   `json:"basic_auth"`
	GenerateBasicAuth bool   `json:"generateBasicAuth"`
	ExposeServices    bool   `json:"exposeServices"`
	Operator          struct {
		Create bool `json:"create"`
	} `json:"operator"`
	Autoscaler struct {
		Enabled bool `json:"enabled"`
	} `json:"autoscaler"`
	Gateway struct {
		Replicas        int    `json:"replicas"`
		UpstreamTimeout string `json:"upstreamTimeout"`
		ReadTimeout     string `json:"readTimeout"`
		WriteTimeout    string `json:"writeTimeout"`
	} `json:"gateway"`
}

// cronConnectorValues are the keys infra/k8s/cron-connector-values.yaml sets.
type cronConnectorValues struct {
	OpenfaasPro     bool   `json:"openfaasPro"`
	GatewayURL      string `json:"gatewayURL"`
	BasicAuth       bool   `json:"basicAuth"`
	AsyncInvocation bool   `json:"asyncInvocation"`
	Logs            struct {
		Format string `json:"format"`
	} `json:"logs"`
}

func loadValues(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// loadStack reads the repository's stack.yml with every ${VAR} at its
// default, so the checks do not depend on the caller's environment.
func loadStack(t *testing.T) *stackfile.Stack {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := stackfile.Parse(raw, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secretValue is the value of key in a Secret, from stringData or data.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// --- the tests ----------------------------------------------------------------

// Every manifest and values file decodes strictly: a misspelt or misplaced
// field, an unknown kind or a duplicate key fails here.
func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			switch file {
			case "openfaas-values.yaml":
				loadValues(t, file, &openfaasValues{})
				return
			case "cron-connector-values.yaml":
				loadValues(t, file, &cronConnectorValues{})
				return
			}
			if isValues(file) {
				t.Fatalf("values file %s has no struct to decode into: add one", file)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs := splitDocuments(raw)
			if len(docs) == 0 {
				t.Fatal("no documents")
			}
			for i, doc := range docs {
				if _, err := decodeDocument(doc); err != nil {
					t.Errorf("document %d: %v", i+1, err)
				}
			}
		})
	}
}

// The decoding above would prove nothing if it were lenient: broken
// documents must be rejected, and the same document unbroken accepted.
func TestDecodingIsStrict(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"valid service", "apiVersion: v1\nkind: Service\nmetadata: {name: minio}\nspec:\n  ports: [{port: 9000}]\n", ""},
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: minio}\nspec:\n  portz: [{port: 9000}]\n", `unknown field "portz"`},
		{"misplaced field", "apiVersion: v1\nkind: Service\nmetadata: {name: minio}\nports: [{port: 9000}]\n", `unknown field "ports"`},
		{"wrong type", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: minio}\nspec: {replicas: four}\n", "cannot unmarshal"},
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata: {name: a, name: b}\n", "already set"},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: x}\n", "unknown kind"},
		{"kind under the wrong apiVersion", "apiVersion: v1\nkind: StatefulSet\nmetadata: {name: x}\n", "unknown kind"},
		{"unknown field in a custom resource", "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg}\nspec: {instance: 3}\n", `unknown field "instance"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeDocument([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("rejected a valid document: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatal("accepted a broken document")
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
	t.Run("unknown key in Helm values", func(t *testing.T) {
		var v openfaasValues
		if err := yaml.UnmarshalStrict([]byte("functionNamespace: openfaas-fn\nbasicAuth: true\n"), &v); err == nil {
			t.Fatal("accepted basicAuth, which the openfaas chart spells basic_auth")
		}
	})
}

// Every namespaced object lives in a namespace namespaces.yaml creates.
func TestNamespacesAreDeclared(t *testing.T) {
	b := loadBundle(t)
	declared := map[string]bool{}
	for _, ns := range b.namespaces {
		declared[ns.Name] = true
	}
	var values openfaasValues
	loadValues(t, "openfaas-values.yaml", &values)
	objects := []metav1.Object{}
	for _, list := range [][]metav1.Object{
		asObjects(b.secrets), asObjects(b.services), asObjects(b.statefulSets), asObjects(b.budgets),
		asObjects(b.policies), asObjects(b.clusters), asObjects(b.backups), asObjects(b.objectStores),
	} {
		objects = append(objects, list...)
	}
	for _, o := range objects {
		if !declared[o.GetNamespace()] {
			t.Errorf("%T %s is in namespace %q, which namespaces.yaml does not create", o, o.GetName(), o.GetNamespace())
		}
	}
	if !declared[values.FunctionNamespace] {
		t.Errorf("functionNamespace %q is not in namespaces.yaml", values.FunctionNamespace)
	}
}

func asObjects[T metav1.Object](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

// Every secret a function names exists in the functions' namespace with a
// key of the same name (the file shared/config reads), every secret
// shared/config reads is named by every function, and every secretKeyRef
// of the other manifests resolves.
func TestSecretsResolve(t *testing.T) {
	b := loadBundle(t)
	stack := loadStack(t)
	var values openfaasValues
	loadValues(t, "openfaas-values.yaml", &values)

	for _, name := range stack.Names() {
		fn := stack.Functions[name]
		for _, want := range []string{config.SecretDatabaseURL, config.SecretS3AccessKey, config.SecretS3SecretKey} {
			if !slices.Contains(fn.Secrets, want) {
				t.Errorf("%s: stack.yml does not give it the secret %s, which shared/config reads", name, want)
			}
		}
		for _, secret := range fn.Secrets {
			s := find(t, b.secrets, values.FunctionNamespace, secret)
			if _, ok := secretValue(s, secret); !ok {
				t.Errorf("%s: Secret %s has no key %s, so /var/openfaas/secrets/%s would not exist", name, secret, secret, secret)
			}
		}
	}

	type ref struct{ namespace, name, key, from string }
	var refs []ref
	for _, sts := range b.statefulSets {
		for _, c := range sts.Spec.Template.Spec.Containers {
			for _, env := range c.Env {
				if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
					r := env.ValueFrom.SecretKeyRef
					refs = append(refs, ref{sts.Namespace, r.Name, r.Key, "StatefulSet " + sts.Name})
				}
			}
		}
	}
	for _, store := range b.objectStores {
		creds := store.Spec.Configuration.S3Credentials
		for _, r := range []corev1.SecretKeySelector{creds.AccessKeyID, creds.SecretAccessKey} {
			refs = append(refs, ref{store.Namespace, r.Name, r.Key, "ObjectStore " + store.Name})
		}
	}
	if len(refs) == 0 {
		t.Fatal("found no secretKeyRef to check")
	}
	for _, r := range refs {
		s := find(t, b.secrets, r.namespace, r.name)
		if _, ok := secretValue(s, r.key); !ok {
			t.Errorf("%s refers to key %s of Secret %s/%s, which has no such key", r.from, r.key, r.namespace, r.name)
		}
	}
}

// S3_ENDPOINT names the MinIO Service by name, namespace and port; the
// Service reaches the StatefulSet's S3 port; the pods find each other
// through the headless Service; the disruption budget covers them.
func TestObjectStoreWiring(t *testing.T) {
	b := loadBundle(t)
	stack := loadStack(t)
	for _, name := range stack.Names() {
		env := stack.Functions[name].Environment
		if env["S3_DRIVER"] != "minio" {
			t.Errorf("%s: S3_DRIVER %q, want minio for the MinIO of infra/k8s", name, env["S3_DRIVER"])
		}
		svc, port := serviceOf(t, b, env["S3_ENDPOINT"])
		sts := backingStatefulSet(t, b, svc)
		containerPort := targetContainerPort(t, svc, port, sts)
		t.Logf("%s: S3_ENDPOINT %s → Service %s/%s:%d → StatefulSet %s port %d",
			name, env["S3_ENDPOINT"], svc.Namespace, svc.Name, port.Port, sts.Name, containerPort)
	}

	sts := find(t, b.statefulSets, "onewindow-storage", "minio")
	headless := find(t, b.services, sts.Namespace, sts.Spec.ServiceName)
	if headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s must be headless and publish pods before they are ready", headless.Name)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("StatefulSet %s: podManagementPolicy %q; MinIO pods wait for each other, so they must start in parallel",
			sts.Name, sts.Spec.PodManagementPolicy)
	}
	replicas := int(*sts.Spec.Replicas)
	drives := fmt.Sprintf("http://%s-{0...%d}.%s.%s.svc.cluster.local/data", sts.Name, replicas-1, headless.Name, sts.Namespace)
	if args := sts.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, drives) {
		t.Errorf("MinIO args %v do not list the %d pods as %s", args, replicas, drives)
	}
	if replicas < 4 {
		t.Errorf("MinIO runs %d pods; distributed mode with erasure coding needs at least 4", replicas)
	}
	budget := find(t, b.budgets, sts.Namespace, "minio")
	if !selects(t, budget.Spec.Selector, sts.Spec.Template.Labels) {
		t.Errorf("PodDisruptionBudget %s does not select the MinIO pods", budget.Name)
	}
	if budget.Spec.MaxUnavailable == nil || budget.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want 1 (writes need 3 of 4 drives)", budget.Name, budget.Spec.MaxUnavailable)
	}
}

// serviceOf returns the Service and port an in-cluster host:port names
// (<service>.<namespace>:<port>).
func serviceOf(t *testing.T, b *bundle, hostPort string) (*corev1.Service, corev1.ServicePort) {
	t.Helper()
	host, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("%q is not host:port: %v", hostPort, err)
	}
	name, namespace, ok := strings.Cut(host, ".")
	if !ok || strings.Contains(namespace, ".") {
		t.Fatalf("%q is not <service>.<namespace>", host)
	}
	svc := find(t, b.services, namespace, name)
	for _, p := range svc.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == portText {
			return svc, p
		}
	}
	t.Fatalf("Service %s/%s has no port %s", namespace, name, portText)
	return nil, corev1.ServicePort{}
}

// backingStatefulSet is the StatefulSet whose pods svc selects.
func backingStatefulSet(t *testing.T, b *bundle, svc *corev1.Service) *appsv1.StatefulSet {
	t.Helper()
	for _, sts := range b.statefulSets {
		if sts.Namespace == svc.Namespace && len(svc.Spec.Selector) > 0 &&
			labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
			if !selects(t, sts.Spec.Selector, sts.Spec.Template.Labels) {
				t.Errorf("StatefulSet %s: selector does not match its own pod labels", sts.Name)
			}
			return sts
		}
	}
	t.Fatalf("Service %s/%s selects no StatefulSet's pods", svc.Namespace, svc.Name)
	return nil
}

// targetContainerPort resolves a Service port's targetPort (by name or
// number) to a port of the StatefulSet's containers.
func targetContainerPort(t *testing.T, svc *corev1.Service, p corev1.ServicePort, sts *appsv1.StatefulSet) int32 {
	t.Helper()
	for _, c := range sts.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			byName := p.TargetPort.Type == intstr.String && p.TargetPort.StrVal == cp.Name
			byNumber := p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == cp.ContainerPort
			if byName || byNumber {
				return cp.ContainerPort
			}
		}
	}
	t.Fatalf("Service %s port %d: targetPort %s is no container port of StatefulSet %s", svc.Name, p.Port, p.TargetPort.String(), sts.Name)
	return 0
}

func selects(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("label selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// database-url points at the CloudNativePG cluster's read-write Service,
// as the role and database its bootstrap creates; the cluster replicates
// synchronously, is backed up, and has connections for every replica the
// autoscaler may start.
func TestDatabaseWiring(t *testing.T) {
	b := loadBundle(t)
	stack := loadStack(t)
	var values openfaasValues
	loadValues(t, "openfaas-values.yaml", &values)
	if len(b.clusters) != 1 {
		t.Fatalf("%d CloudNativePG clusters, want 1", len(b.clusters))
	}
	cluster := b.clusters[0]
	spec := cluster.Spec

	secret := find(t, b.secrets, values.FunctionNamespace, config.SecretDatabaseURL)
	raw, _ := secretValue(secret, config.SecretDatabaseURL)
	// Each ${VAR} of the template becomes a token naming VAR: URL-safe, as
	// the real values must be, and comparable across Secrets.
	fill := func(s string) string {
		return string(stackfile.Substitute([]byte(s), func(name string) (string, bool) { return "var-" + name, true }))
	}
	u, err := url.Parse(fill(raw))
	if err != nil {
		t.Fatalf("database-url %q: %v", raw, err)
	}
	checks := []struct{ what, got, want string }{
		{"scheme", u.Scheme, "postgres"},
		{"host", u.Hostname(), cluster.Name + "-rw." + cluster.Namespace},
		{"port", u.Port(), "5432"},
		{"database", strings.TrimPrefix(u.Path, "/"), spec.Bootstrap.InitDB.Database},
		{"user", u.User.Username(), spec.Bootstrap.InitDB.Owner},
		{"sslmode", u.Query().Get("sslmode"), "require"},
	}
	for _, c := range checks {
		if c.got != c.want || c.want == "" {
			t.Errorf("database-url %s = %q, want %q", c.what, c.got, c.want)
		}
	}

	// The owner's password at bootstrap must be the one database-url uses:
	// both name the same placeholder.
	owner := find(t, b.secrets, cluster.Namespace, spec.Bootstrap.InitDB.Secret.Name)
	ownerName, _ := secretValue(owner, corev1.BasicAuthUsernameKey)
	ownerPassword, _ := secretValue(owner, corev1.BasicAuthPasswordKey)
	urlPassword, _ := u.User.Password()
	if owner.Type != corev1.SecretTypeBasicAuth || ownerName != spec.Bootstrap.InitDB.Owner ||
		ownerPassword == "" || urlPassword != fill(ownerPassword) {
		t.Errorf("Secret %s (type %s, user %q, password %q) must be basic-auth for %s with the password of database-url (%q)",
			owner.Name, owner.Type, ownerName, ownerPassword, spec.Bootstrap.InitDB.Owner, urlPassword)
	}

	if spec.Instances < 3 {
		t.Errorf("%d instances; a primary and two replicas are the least that survive a node loss with synchronous commit", spec.Instances)
	}
	if sync := spec.PostgreSQL.Synchronous; sync == nil || sync.Number < 1 || sync.Number >= spec.Instances || sync.DataDurability != "required" {
		t.Errorf("synchronous replication %+v: want at least 1 standby, fewer than the instances, durability required; "+
			"an asynchronous failover can lose serial reservations and hand a serial out twice", sync)
	}

	// Connections: every pool at its cap plus the catalogue's LISTEN
	// connection outside the pool (shared/catalog; serial-issue opens none,
	// counted anyway for simplicity), at scale.max, plus a 25 % rolling
	// update surge, must fit under max_connections with room to spare.
	maxConns, err := strconv.Atoi(spec.PostgreSQL.Parameters["max_connections"])
	if err != nil {
		t.Fatalf("max_connections: %v", err)
	}
	pools := 0
	for _, name := range stack.Names() {
		fn := stack.Functions[name]
		perReplica, err := strconv.Atoi(fn.Environment["DB_MAX_CONNS"])
		if err != nil {
			t.Fatalf("%s: DB_MAX_CONNS: %v", name, err)
		}
		replicas, err := strconv.Atoi(fn.Labels["com.openfaas.scale.max"])
		if err != nil {
			t.Fatalf("%s: com.openfaas.scale.max: %v", name, err)
		}
		pools += (perReplica + 1) * replicas
	}
	if need := pools*5/4 + connectionReserve; need > maxConns {
		t.Errorf("max_connections %d < %d: replicas' connections at scale.max %d, +25 %% during a rolling update, +%d reserved",
			maxConns, need, pools, connectionReserve)
	}

	if len(spec.Plugins) != 1 || !spec.Plugins[0].IsWALArchiver {
		t.Fatalf("plugins %+v: want one WAL-archiving backup plugin", spec.Plugins)
	}
	plugin := spec.Plugins[0]
	store := find(t, b.objectStores, cluster.Namespace, plugin.Parameters["barmanObjectName"])
	if store.Spec.RetentionPolicy == "" || !strings.HasPrefix(store.Spec.Configuration.DestinationPath, "s3://") {
		t.Errorf("ObjectStore %s: retention %q, destination %q", store.Name, store.Spec.RetentionPolicy, store.Spec.Configuration.DestinationPath)
	}
	if len(b.backups) == 0 {
		t.Fatal("no ScheduledBackup")
	}
	// CloudNativePG schedules have six fields, seconds first.
	withSeconds := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	for _, bk := range b.backups {
		if bk.Namespace != cluster.Namespace || bk.Spec.Cluster.Name != cluster.Name {
			t.Errorf("ScheduledBackup %s/%s backs up %s, not %s/%s", bk.Namespace, bk.Name, bk.Spec.Cluster.Name, cluster.Namespace, cluster.Name)
		}
		if bk.Spec.Method != "plugin" || bk.Spec.PluginConfiguration.Name != plugin.Name {
			t.Errorf("ScheduledBackup %s: method %q through %q, want plugin through %q", bk.Name, bk.Spec.Method, bk.Spec.PluginConfiguration.Name, plugin.Name)
		}
		if _, err := withSeconds.Parse(bk.Spec.Schedule); err != nil || len(strings.Fields(bk.Spec.Schedule)) != 6 {
			t.Errorf("ScheduledBackup %s: schedule %q is not six cron fields: %v", bk.Name, bk.Spec.Schedule, err)
		}
	}
}

// The functions' namespace allows exactly: invocations from OpenFaaS on the
// watchdog port, scrapes from monitoring on the metrics port, DNS,
// PostgreSQL and MinIO on the ports their URLs name, and web ports to
// department systems for the functions that deliver webhooks. The database
// and storage namespaces let the functions in on those same ports.
func TestNetworkPolicies(t *testing.T) {
	b := loadBundle(t)
	stack := loadStack(t)
	var values openfaasValues
	loadValues(t, "openfaas-values.yaml", &values)
	var connector cronConnectorValues
	loadValues(t, "cron-connector-values.yaml", &connector)

	cluster := b.clusters[0]
	dbPort := 5432 // checked against database-url by TestDatabaseWiring
	minio, s3Port := serviceOf(t, b, stack.Functions["case-submit"].Environment["S3_ENDPOINT"])
	minioPort := targetContainerPort(t, minio, s3Port, backingStatefulSet(t, b, minio))
	metricsPort := stack.Functions["case-submit"].Annotations["prometheus.io.port"]
	openfaasNamespace := gatewayNamespace(t, connector.GatewayURL)

	clusterPods := "cnpg.io/cluster=" + cluster.Name
	minioPods := labels.SelectorFromSet(minio.Spec.Selector).String()
	outbox := "faas_function in (" + strings.Join(outboxFunctions, ",") + ")"
	want := []string{
		fmt.Sprintf("ingress TCP/%d to <all> from ns(%s)", watchdogPort, openfaasNamespace),
		fmt.Sprintf("ingress TCP/%s to <all> from ns(%s)", metricsPort, monitoringNamespace),
		"egress UDP/53 from <all> to ns(kube-system) pods(k8s-app=kube-dns)",
		"egress TCP/53 from <all> to ns(kube-system) pods(k8s-app=kube-dns)",
		fmt.Sprintf("egress TCP/%d from <all> to ns(%s) pods(%s)", dbPort, cluster.Namespace, clusterPods),
		fmt.Sprintf("egress TCP/%d from <all> to ns(%s) pods(%s)", minioPort, minio.Namespace, minioPods),
		fmt.Sprintf("egress TCP/443 from %s to cidr 0.0.0.0/0 except [169.254.169.254/32]", outbox),
		fmt.Sprintf("egress TCP/80 from %s to cidr 0.0.0.0/0 except [169.254.169.254/32]", outbox),
	}
	got := describePolicies(t, b.policies, values.FunctionNamespace)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rules of namespace %s:\n got  %s\n want %s", values.FunctionNamespace,
			strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	if !deniesByDefault(b.policies, values.FunctionNamespace) {
		t.Errorf("namespace %s has no default-deny policy (empty podSelector, Ingress and Egress, no rules)", values.FunctionNamespace)
	}
	for _, name := range outboxFunctions {
		if _, ok := stack.Functions[name]; !ok {
			t.Errorf("the department-webhooks policy names %s, which stack.yml does not deploy", name)
		}
	}

	fromFunctions := []struct{ namespace, rule string }{
		{cluster.Namespace, fmt.Sprintf("ingress TCP/%d to %s from ns(%s)", dbPort, clusterPods, values.FunctionNamespace)},
		{minio.Namespace, fmt.Sprintf("ingress TCP/%d to %s from ns(%s)", minioPort, minioPods, values.FunctionNamespace)},
	}
	for _, f := range fromFunctions {
		if rules := describePolicies(t, b.policies, f.namespace); !slices.Contains(rules, f.rule) {
			t.Errorf("namespace %s does not allow %q; it has:\n  %s", f.namespace, f.rule, strings.Join(rules, "\n  "))
		}
	}
}

// gatewayNamespace is the namespace in http://gateway.<namespace>:8080.
func gatewayNamespace(t *testing.T, gatewayURL string) string {
	t.Helper()
	u, err := url.Parse(gatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	svc, namespace, ok := strings.Cut(u.Hostname(), ".")
	if !ok || svc != "gateway" || u.Port() != "8080" {
		t.Fatalf("gatewayURL %q is not http://gateway.<namespace>:8080", gatewayURL)
	}
	return namespace
}

// describePolicies flattens the policies of a namespace into one sorted
// line per (direction, protocol/port, selected pods, peer), so that the
// set can be compared with what the functions need.
func describePolicies(t *testing.T, policies []*networkingv1.NetworkPolicy, namespace string) []string {
	t.Helper()
	var out []string
	add := func(dir string, selected *metav1.LabelSelector, ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer) {
		pods := selectorText(t, selected)
		if len(ports) == 0 {
			ports = []networkingv1.NetworkPolicyPort{{}}
		}
		if len(peers) == 0 {
			peers = []networkingv1.NetworkPolicyPeer{{}}
		}
		for _, port := range ports {
			for _, peer := range peers {
				p := "any"
				if port.Port != nil {
					p = port.Port.String()
				}
				proto := corev1.ProtocolTCP
				if port.Protocol != nil {
					proto = *port.Protocol
				}
				if dir == "ingress" {
					out = append(out, fmt.Sprintf("ingress %s/%s to %s from %s", proto, p, pods, peerText(t, peer)))
				} else {
					out = append(out, fmt.Sprintf("egress %s/%s from %s to %s", proto, p, pods, peerText(t, peer)))
				}
			}
		}
	}
	for _, np := range policies {
		if np.Namespace != namespace {
			continue
		}
		for _, r := range np.Spec.Ingress {
			add("ingress", &np.Spec.PodSelector, r.Ports, r.From)
		}
		for _, r := range np.Spec.Egress {
			add("egress", &np.Spec.PodSelector, r.Ports, r.To)
		}
	}
	slices.Sort(out)
	return out
}

// selectorText is a label selector as kubectl prints it, "<all>" when empty.
func selectorText(t *testing.T, sel *metav1.LabelSelector) string {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("label selector %v: %v", sel, err)
	}
	if s.Empty() {
		return "<all>"
	}
	return s.String()
}

// peerText names a peer: a namespace by its name label, pods by their
// selector, or a CIDR.
func peerText(t *testing.T, p networkingv1.NetworkPolicyPeer) string {
	t.Helper()
	var parts []string
	if p.NamespaceSelector != nil {
		name, ok := p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
		if !ok || len(p.NamespaceSelector.MatchLabels) != 1 || len(p.NamespaceSelector.MatchExpressions) != 0 {
			t.Fatalf("namespace selector %v: select namespaces by kubernetes.io/metadata.name only", p.NamespaceSelector)
		}
		parts = append(parts, "ns("+name+")")
	}
	if p.PodSelector != nil {
		parts = append(parts, "pods("+selectorText(t, p.PodSelector)+")")
	}
	if p.IPBlock != nil {
		parts = append(parts, fmt.Sprintf("cidr %s except %v", p.IPBlock.CIDR, p.IPBlock.Except))
	}
	if len(parts) == 0 {
		return "anywhere"
	}
	return strings.Join(parts, " ")
}

func deniesByDefault(policies []*networkingv1.NetworkPolicy, namespace string) bool {
	for _, np := range policies {
		s := np.Spec
		if np.Namespace == namespace && len(s.PodSelector.MatchLabels) == 0 && len(s.PodSelector.MatchExpressions) == 0 &&
			len(s.Ingress) == 0 && len(s.Egress) == 0 &&
			slices.Contains(s.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(s.PolicyTypes, networkingv1.PolicyTypeEgress) {
			return true
		}
	}
	return false
}

// Every function carries the autoscaler's labels, Prometheus' annotations,
// and, when it is fired by a schedule, the cron-connector's annotations.
func TestFunctionLabelsAndAnnotations(t *testing.T) {
	stack := loadStack(t)
	standard := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	for _, name := range stack.Names() {
		t.Run(name, func(t *testing.T) {
			fn := stack.Functions[name]
			least, errMin := strconv.Atoi(fn.Labels["com.openfaas.scale.min"])
			most, errMax := strconv.Atoi(fn.Labels["com.openfaas.scale.max"])
			target, errTarget := strconv.Atoi(fn.Labels["com.openfaas.scale.target"])
			if errMin != nil || errMax != nil || errTarget != nil || least < 1 || most < least || target < 1 {
				t.Errorf("scale min %q max %q target %q: want integers with 1 <= min <= max and target >= 1",
					fn.Labels["com.openfaas.scale.min"], fn.Labels["com.openfaas.scale.max"], fn.Labels["com.openfaas.scale.target"])
			}
			if typ := fn.Labels["com.openfaas.scale.type"]; typ != "rps" && typ != "capacity" {
				t.Errorf("com.openfaas.scale.type %q, want rps or capacity (what docs/benchmarks.md measured)", typ)
			}

			if fn.Annotations["prometheus.io.scrape"] != "true" {
				t.Errorf("prometheus.io.scrape %q, want \"true\"", fn.Annotations["prometheus.io.scrape"])
			}
			port := fn.Annotations["prometheus.io.port"]
			if want := cmp.Or(fn.Environment["METRICS_PORT"], "8083"); port != want {
				t.Errorf("prometheus.io.port %q, want %s (METRICS_PORT, default 8083)", port, want)
			}
			if port == strconv.Itoa(watchdogPort) || port == "8081" || port == "8082" {
				t.Errorf("prometheus.io.port %s is taken by of-watchdog or the handler", port)
			}

			topic, schedule := fn.Annotations["topic"], fn.Annotations["schedule"]
			if !slices.Contains(cronFunctions, name) {
				if topic != "" || schedule != "" {
					t.Errorf("topic %q schedule %q on a function that serves no scheduled POST /", topic, schedule)
				}
				return
			}
			if topic != "cron-function" {
				t.Errorf("topic %q, want cron-function (the only topic cron-connector CE reads)", topic)
			}
			if _, err := standard.Parse(schedule); err != nil || len(strings.Fields(schedule)) != 5 {
				t.Errorf("schedule %q is not five cron fields: %v", schedule, err)
			}
		})
	}
}

// The chart values turn on what stack.yml relies on (basic auth, the
// autoscaler that reads the scale labels, the function namespace) and give
// the slowest function time to answer through the gateway.
func TestOpenFaaSValues(t *testing.T) {
	stack := loadStack(t)
	var v openfaasValues
	loadValues(t, "openfaas-values.yaml", &v)
	var c cronConnectorValues
	loadValues(t, "cron-connector-values.yaml", &c)

	flags := []struct {
		name string
		on   bool
	}{
		{"basic_auth", v.BasicAuth},
		{"generateBasicAuth", v.GenerateBasicAuth},
		{"openfaasPro (the autoscaler reads com.openfaas.scale.target/type)", v.OpenfaasPro},
		{"autoscaler.enabled", v.Autoscaler.Enabled},
		{"cron-connector basicAuth", c.BasicAuth},
		{"cron-connector openfaasPro, as the gateway's", c.OpenfaasPro == v.OpenfaasPro},
	}
	for _, f := range flags {
		if !f.on {
			t.Errorf("%s is off", f.name)
		}
	}
	if v.Gateway.Replicas < 2 {
		t.Errorf("gateway.replicas %d: one gateway is a single point of failure", v.Gateway.Replicas)
	}
	gatewayNamespace(t, c.GatewayURL)

	upstream := duration(t, "gateway.upstreamTimeout", v.Gateway.UpstreamTimeout)
	for _, edge := range []struct{ name, value string }{
		{"gateway.readTimeout", v.Gateway.ReadTimeout}, {"gateway.writeTimeout", v.Gateway.WriteTimeout},
	} {
		if d := duration(t, edge.name, edge.value); d <= upstream {
			t.Errorf("%s %s must exceed gateway.upstreamTimeout %s", edge.name, d, upstream)
		}
	}
	for _, name := range stack.Names() {
		env := stack.Functions[name].Environment
		for _, key := range []string{"write_timeout", "exec_timeout"} {
			if d := duration(t, name+" "+key, env[key]); d > upstream {
				t.Errorf("%s: %s %s exceeds gateway.upstreamTimeout %s; the gateway would cut it off", name, key, d, upstream)
			}
		}
	}
}

func duration(t *testing.T, what, value string) time.Duration {
	t.Helper()
	d, err := config.Duration(value, 0)
	if err != nil || d <= 0 {
		t.Fatalf("%s %q: want a positive duration (%v)", what, value, err)
	}
	return d
}
