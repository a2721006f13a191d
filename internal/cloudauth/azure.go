package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AzureScope is the Entra scope of Azure OpenAI / Cognitive Services tokens.
const AzureScope = "https://cognitiveservices.azure.com/.default"

// Azure credential kinds (backendAuth.azure).
const (
	AzureClientSecret      = "clientSecret"
	AzureManagedIdentity   = "managedIdentity"
	AzureWorkloadIdentity  = "workloadIdentity"
	AzureDeveloperImplicit = "developerImplicit"
	AzureImplicit          = "implicit"
)

// AzureSpec configures a Microsoft Entra token source.
type AzureSpec struct {
	Kind                             string // one of the Azure* kinds
	TenantID, ClientID, ClientSecret string // clientSecret
	// Managed identity: at most one of the user-assigned identity's IDs
	// (none = the system-assigned identity).
	IdentityClientID, IdentityObjectID, IdentityResourceID string
	Scope                                                  string // "" = AzureScope

	// Options configures the SDK's HTTP pipeline: the authority host
	// (default: AZURE_AUTHORITY_HOST, else Azure public cloud) and the
	// transport.
	Options azcore.ClientOptions
}

// NewAzure returns a cached token source for s. Nothing is fetched until
// the first request.
func NewAzure(s AzureSpec) (TokenSource, error) {
	cred, err := azureCredential(s)
	if err != nil {
		return nil, err
	}
	scope := s.Scope
	if scope == "" {
		scope = AzureScope
	}
	return newCache(func(ctx context.Context) (expiring, error) {
		t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return expiring{}, fmt.Errorf("azure token: %v", err)
		}
		return expiring{value: t.Token, expires: t.ExpiresOn, refresh: t.RefreshOn}, nil
	}), nil
}

// knownAuthorityHosts are Entra's public and sovereign clouds, which the
// SDK's instance discovery knows.
var knownAuthorityHosts = map[string]bool{"login.microsoftonline.com": true, "login.microsoftonline.us": true,
	"login.chinacloudapi.cn": true, "login.partner.microsoftonline.cn": true}

func azureCredential(s AzureSpec) (azcore.TokenCredential, error) {
	o := s.Options
	// Instance discovery asks login.microsoftonline.com about the
	// authority; a private authority host (Azure Stack, ADFS, a test
	// endpoint) is not known there.
	host := o.Cloud.ActiveDirectoryAuthorityHost
	if host == "" {
		host = os.Getenv("AZURE_AUTHORITY_HOST")
	}
	noDiscovery := false
	if host != "" {
		u, err := url.Parse(host)
		if err != nil || u.Scheme != "https" {
			return nil, fmt.Errorf("authority host %q: want an https URL", host)
		}
		noDiscovery = !knownAuthorityHosts[strings.ToLower(u.Hostname())]
	}
	switch s.Kind {
	case AzureClientSecret:
		if s.TenantID == "" || s.ClientID == "" || s.ClientSecret == "" {
			return nil, errors.New("clientSecret needs tenantId, clientId and clientSecret")
		}
		return azidentity.NewClientSecretCredential(s.TenantID, s.ClientID, s.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: noDiscovery})
	case AzureManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: o}
		switch {
		case s.IdentityClientID != "":
			mo.ID = azidentity.ClientID(s.IdentityClientID)
		case s.IdentityObjectID != "":
			mo.ID = azidentity.ObjectID(s.IdentityObjectID)
		case s.IdentityResourceID != "":
			mo.ID = azidentity.ResourceID(s.IdentityResourceID)
		}
		return azidentity.NewManagedIdentityCredential(mo)
	case AzureWorkloadIdentity:
		// AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE
		// (set by the AKS workload identity webhook).
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: o, DisableInstanceDiscovery: noDiscovery})
	case AzureDeveloperImplicit:
		return developerCredential()
	case AzureImplicit:
		// The environment's service principal, workload identity, managed
		// identity, then the developer tools (DefaultAzureCredential).
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: o, DisableInstanceDiscovery: noDiscovery})
	}
	return nil, fmt.Errorf("unknown Azure credential kind %q", s.Kind)
}

// developerCredential is the Azure CLI login, then the Azure Developer CLI's.
func developerCredential() (azcore.TokenCredential, error) {
	cli, err := azidentity.NewAzureCLICredential(nil)
	if err != nil {
		return nil, err
	}
	azd, err := azidentity.NewAzureDeveloperCLICredential(nil)
	if err != nil {
		return nil, err
	}
	return azidentity.NewChainedTokenCredential([]azcore.TokenCredential{cli, azd}, nil)
}
