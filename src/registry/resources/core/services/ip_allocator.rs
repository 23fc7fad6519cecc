//! The ClusterIP allocator, as upstream 1.33's MultiCIDRServiceAllocator
//! (`pkg/registry/core/service/ipallocator/ipallocator.go`): an allocated IP is an `IPAddress`
//! object (`networking.k8s.io/v1`) named by the IP, whose `parentRef` names the Service. Creating
//! it is the allocation, so two replicas can never hand out the same IP: the second create gets
//! AlreadyExists. Nothing is kept in memory.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::api::status::ApiError;
use crate::registry::metadata::meta_str;
use crate::registry::options::{DeleteOptions, ListOptions, Preconditions, WriteOptions};
use crate::registry::store::Store;

/// The label naming the IP family of an IPAddress (upstream's `LabelIPAddressFamily`).
pub const LABEL_IP_FAMILY: &str = "ipaddress.kubernetes.io/ip-family";
/// The label naming the controller of an IPAddress (upstream's `LabelManagedBy`).
pub const LABEL_MANAGED_BY: &str = "ipaddress.kubernetes.io/managed-by";
/// The `managed-by` value of the Service allocator's IPAddresses (upstream's `ControllerName`).
pub const MANAGED_BY_ALLOCATOR: &str = "ipallocator.k8s.io";

/// Random picks tried before the allocator lists what is taken.
const RANDOM_ATTEMPTS: usize = 8;

/// Why an allocation failed; `Display` is upstream's error text.
#[derive(Debug)]
pub enum AllocError {
    /// Upstream's `ErrFull`.
    Full,
    /// Upstream's `ErrAllocated`.
    Allocated,
    /// Upstream's `ErrNotInRange`, for the given IP (in the CIDR but not allocatable: the
    /// network or broadcast address).
    NotInRange(String),
    /// Upstream's `ErrMismatchedNetwork`: no service CIDR contains the IP.
    MismatchedNetwork,
    /// Storage or the IPAddress store failed.
    Api(ApiError),
}

impl std::fmt::Display for AllocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full => f.write_str("range is full"),
            Self::Allocated => f.write_str("provided IP is already allocated"),
            Self::NotInRange(ip) => write!(f, "provided IP {ip} is not in the valid range"),
            Self::MismatchedNetwork => {
                f.write_str("the provided network does not match the current range")
            }
            Self::Api(err) => f.write_str(&err.status.message),
        }
    }
}

/// The Service an allocation belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
}

impl ServiceRef {
    /// The namespace and name of a Service object.
    pub fn of(svc: &Value) -> Self {
        Self {
            namespace: meta_str(svc, "namespace").to_string(),
            name: meta_str(svc, "name").to_string(),
        }
    }
}

/// The allocatable addresses of a service CIDR: IPv4 without the network and broadcast
/// addresses, IPv6 without the network address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    cidr: String,
    v6: bool,
    network: u128,
    /// The first and last allocatable address, as integers.
    first: u128,
    last: u128,
    /// Dynamic allocations start at `first + offset` (upstream's `calculateRangeOffset`), leaving
    /// the low band to Services that ask for a specific IP.
    offset: u128,
}

impl IpRange {
    /// Parses `a.b.c.d/n` (or IPv6). MUST refuse ranges without an allocatable address.
    pub fn parse(cidr: &str) -> Result<Self, String> {
        let (addr, bits) = crate::config::parse_service_cidr(cidr)?;
        let (v6, width, value) = match addr {
            IpAddr::V4(v4) => (false, 32u32, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (true, 128u32, u128::from(v6)),
        };
        let host_bits = width - u32::from(bits);
        let size = 1u128 << host_bits;
        let network = value & !(size - 1);
        let first = network + 1;
        let last = if v6 {
            network + size - 1
        } else {
            network + size - 2
        };
        let offset = if size < 16 {
            0
        } else {
            (size / 16).clamp(16, 256)
        };
        Ok(Self {
            cidr: format!("{}/{bits}", Self::addr_of(v6, network)),
            v6,
            network,
            first,
            last,
            offset,
        })
    }

    fn addr_of(v6: bool, n: u128) -> IpAddr {
        if v6 {
            IpAddr::V6(n.into())
        } else {
            IpAddr::V4((n as u32).into())
        }
    }

    fn addr(&self, n: u128) -> IpAddr {
        Self::addr_of(self.v6, n)
    }

    fn number(&self, ip: IpAddr) -> Option<u128> {
        match (ip, self.v6) {
            (IpAddr::V4(v4), false) => Some(u128::from(u32::from(v4))),
            (IpAddr::V6(v6), true) => Some(u128::from(v6)),
            _ => None,
        }
    }

    fn index(&self, ip: IpAddr) -> Option<u128> {
        let n = self.number(ip)?;
        (self.first..=self.last).contains(&n).then_some(n)
    }

    /// Whether the CIDR contains `ip` (allocatable or not).
    pub fn in_prefix(&self, ip: IpAddr) -> bool {
        self.number(ip).is_some_and(|n| {
            let size = if self.v6 {
                self.last - self.network + 1
            } else {
                self.last - self.network + 2
            };
            (self.network..self.network + size).contains(&n)
        })
    }

    /// The range in CIDR notation (network address).
    pub fn cidr(&self) -> &str {
        &self.cidr
    }

    /// `IPv4` or `IPv6`.
    pub fn family(&self) -> &'static str {
        if self.v6 {
            "IPv6"
        } else {
            "IPv4"
        }
    }

    /// Whether `ip` is an allocatable address of the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.index(ip).is_some()
    }

    /// The network address (what upstream's dry-run AllocateNext answers).
    pub fn network(&self) -> IpAddr {
        self.addr(self.network)
    }

    /// The first allocatable address: the `kubernetes` Service's ClusterIP.
    pub fn first_ip(&self) -> IpAddr {
        self.addr(self.first)
    }

    /// A random address of the dynamic band (or of the whole range when it has none).
    fn random_dynamic(&self) -> IpAddr {
        let low = (self.first + self.offset).min(self.last);
        self.addr(random_in(low, self.last))
    }

    /// The first address not in `taken`, scanning the dynamic band from a random point, then
    /// the low band.
    pub fn first_free(&self, taken: &std::collections::HashSet<IpAddr>) -> Option<IpAddr> {
        let low = (self.first + self.offset).min(self.last);
        let start = random_in(low, self.last);
        (start..=self.last)
            .chain(low..start)
            .chain(self.first..low)
            .map(|n| self.addr(n))
            .find(|ip| !taken.contains(ip))
    }
}

/// A random integer in `low..=high` (uniform enough for picking addresses and ports).
pub fn random_in(low: u128, high: u128) -> u128 {
    let random = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes());
    low + random % (high - low + 1)
}

/// The IPAddress object of `ip` allocated to `owner`.
pub fn ip_address_object(ip: &str, family: &str, owner: &ServiceRef) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "labels": {LABEL_IP_FAMILY: family, LABEL_MANAGED_BY: MANAGED_BY_ALLOCATOR},
        },
        "spec": {"parentRef": {"resource": "services", "namespace": owner.namespace, "name": owner.name}},
    })
}

/// Whether an IPAddress's `parentRef` names `owner`.
pub fn references(ip_address: &Value, owner: &ServiceRef) -> bool {
    let parent = |field: &str| {
        ip_address
            .pointer(&format!("/spec/parentRef/{field}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    parent("group").is_empty()
        && parent("resource") == "services"
        && parent("namespace") == owner.namespace
        && parent("name") == owner.name
}

/// Allocates ClusterIPs of one service CIDR through the IPAddress store.
pub struct IpAllocator {
    range: IpRange,
    ip_addresses: Arc<Store>,
}

impl IpAllocator {
    pub fn new(range: IpRange, ip_addresses: Arc<Store>) -> Self {
        Self {
            range,
            ip_addresses,
        }
    }

    pub fn range(&self) -> &IpRange {
        &self.range
    }

    /// Allocates `ip` to `owner`. MUST fail with `NotInRange` outside the range and `Allocated`
    /// when an IPAddress of that IP exists; a dry run only checks the range.
    pub async fn allocate(
        &self,
        ip: IpAddr,
        owner: &ServiceRef,
        dry_run: bool,
    ) -> Result<(), AllocError> {
        if !self.range.in_prefix(ip) {
            return Err(AllocError::MismatchedNetwork);
        }
        if !self.range.contains(ip) {
            return Err(AllocError::NotInRange(ip.to_string()));
        }
        if dry_run {
            return Ok(());
        }
        let object = ip_address_object(&ip.to_string(), self.range.family(), owner);
        match self
            .ip_addresses
            .create(None, object, &WriteOptions::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.status.reason == "AlreadyExists" => Err(AllocError::Allocated),
            Err(err) => Err(AllocError::Api(err)),
        }
    }

    /// Allocates a free IP to `owner`: random picks of the dynamic band first, then a scan of
    /// what is taken. MUST answer `Full` when no IP is free. A dry run answers the network
    /// address without allocating, as upstream.
    pub async fn allocate_next(
        &self,
        owner: &ServiceRef,
        dry_run: bool,
    ) -> Result<IpAddr, AllocError> {
        if dry_run {
            return Ok(self.range.network());
        }
        for _ in 0..RANDOM_ATTEMPTS {
            let ip = self.range.random_dynamic();
            match self.allocate(ip, owner, false).await {
                Err(AllocError::Allocated) => continue,
                other => return other.map(|()| ip),
            }
        }
        loop {
            let taken = self.taken().await?;
            let Some(ip) = self.range.first_free(&taken) else {
                return Err(AllocError::Full);
            };
            match self.allocate(ip, owner, false).await {
                // Taken meanwhile by another writer: look again.
                Err(AllocError::Allocated) => continue,
                other => return other.map(|()| ip),
            }
        }
    }

    /// The IPs that have an IPAddress object.
    async fn taken(&self) -> Result<std::collections::HashSet<IpAddr>, AllocError> {
        let list = self
            .ip_addresses
            .list(None, &ListOptions::default())
            .await
            .map_err(AllocError::Api)?;
        Ok(list
            .items
            .iter()
            .filter_map(|item| meta_str(item, "name").parse().ok())
            .collect())
    }

    /// Releases `ip` if its IPAddress still belongs to `owner` (never another Service's).
    pub async fn release(&self, ip: &str, owner: &ServiceRef) {
        let current = match self.ip_addresses.get(None, ip).await {
            Ok(current) => current,
            Err(err) if err.status.code == 404 => return,
            Err(err) => {
                tracing::warn!(ip, error = %err, "could not read the IPAddress to release");
                return;
            }
        };
        if !references(&current, owner) {
            return;
        }
        let opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: None,
                resource_version: Some(meta_str(&current, "resourceVersion").to_string()),
            }),
            ..Default::default()
        };
        match self
            .ip_addresses
            .delete(None, ip, &opts, &WriteOptions::default())
            .await
        {
            Ok(_) => {}
            Err(err) if err.status.code == 404 || err.status.code == 409 => {}
            Err(err) => tracing::warn!(ip, error = %err, "could not release a ClusterIP"),
        }
    }
}
