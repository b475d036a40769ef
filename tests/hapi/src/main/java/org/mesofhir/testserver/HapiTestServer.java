package org.mesofhir.testserver;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.commons.dbcp2.BasicDataSource;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * A HAPI FHIR JPA server (R4, H2 in memory) configured the way the public HAPI test server
 * behaves wherever a sync client can tell the difference. Test infrastructure only: no auth,
 * no persistence, loopback only (see application.properties).
 */
@SpringBootApplication(
		exclude = {
			// Elasticsearch, Quartz and Thymeleaf jars come in with hapi-fhir-jpaserver-base;
			// Boot would otherwise build a client for localhost:9200, a second Quartz scheduler
			// beside HAPI's own, and a template engine nobody uses.
			ElasticsearchRestClientAutoConfiguration.class,
			ElasticsearchClientAutoConfiguration.class,
			QuartzAutoConfiguration.class,
			ThymeleafAutoConfiguration.class
		})
@Import({
	JpaR4Config.class,
	// HapiJpaConfig supplies the paging provider, stale-search cleanup and fulltext stubs
	// that JpaR4Config leaves to the application.
	HapiJpaConfig.class,
	// JpaR4Config's terminology and $merge services need batch2's job coordinator; the jobs
	// config adds what runs $reindex, $expunge and bulk export, as on the public server.
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	// batch2 sends its work notifications over a message broker; this is the in-JVM one
	// (LinkedBlockingQueue), which is all a single-node test server needs. None of the other
	// subscription configs is needed (and then no SubscriptionSettings or IEmailSender bean).
	SubscriptionChannelConfig.class,
	// The thread pool that batch bundles run their entries on.
	ThreadPoolFactoryConfig.class,
	PackageValidationConfig.class
})
public class HapiTestServer {

	public static void main(String[] args) {
		SpringApplication.run(HapiTestServer.class, args);
	}

	@Bean
	public DataSource dataSource() {
		// commons-dbcp2 already comes with hapi-fhir-jpaserver-base; no other pool is needed.
		BasicDataSource ds = new BasicDataSource();
		// A named in-memory database that lives as long as the JVM (DB_CLOSE_DELAY=-1), so the
		// pool may close idle connections without losing the data.
		ds.setUrl("jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1");
		ds.setUsername("sa");
		ds.setPassword("");
		ds.setMaxTotal(20);
		return ds;
	}

	@Bean
	public JpaStorageSettings jpaStorageSettings() {
		JpaStorageSettings s = new JpaStorageSettings();
		// Most of these are HAPI's defaults already; they are set here so that a HAPI upgrade
		// that changes a default cannot silently change what the sync tests prove.
		s.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
		s.setEnforceReferentialIntegrityOnWrite(true);
		s.setAllowExternalReferences(false);
		s.setAutoCreatePlaceholderReferenceTargets(false);
		s.setAllowInlineMatchUrlReferences(true);
		s.setReuseCachedSearchResultsForMillis(60_000L);
		// The starter's values (max_page_size, search_prefetch_thresholds): at most 200 per
		// page, and a first page answered once 13 hits are loaded, so first pages carry no
		// Bundle.total (ask _total=accurate or _summary=count for it).
		s.setFetchSizeDefaultMaximum(200);
		s.setSearchPreFetchThresholds(List.of(13, 503, 2003, -1));
		return s;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource) {
		LocalContainerEntityManagerFactoryBean emf =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		Map<String, Object> p = new HashMap<>();
		// HAPI reads the dialect back from this map (HibernatePropertiesProvider), so it must
		// be set here, not only through spring.jpa.* properties.
		p.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
		// The schema is made by Hibernate from HAPI's entities, as in the starter.
		p.put("hibernate.hbm2ddl.auto", "update");
		p.put("hibernate.search.enabled", "false");
		p.put("hibernate.jdbc.batch_size", "20");
		p.put("hibernate.cache.use_query_cache", "false");
		p.put("hibernate.cache.use_second_level_cache", "false");
		p.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		emf.setPersistenceUnitName("HAPI_PU");
		emf.setJpaPropertyMap(p);
		emf.setDataSource(dataSource);
		return emf;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory emf) {
		return new JpaTransactionManager(emf);
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviders,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider) {
		// No narrative generator is set on the context (the starter's narrative_enabled: false):
		// stored resources come back as sent, which the sync client's hashes rely on.
		RestfulServer server = new RestfulServer(systemDao.getContext());
		server.registerProviders(resourceProviders.createProviders());
		// transaction/batch bundles POSTed to the base, plus $meta, $expunge etc.
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider cap = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		cap.setImplementationDescription("meso-fhir test HAPI FHIR R4 server");
		server.setServerConformanceProvider(cap);
		// Pages live in the database (the _getpages links); default 20, max 200 like the
		// public server (HAPI's own defaults are 10/50).
		pagingProvider.setDefaultPageSize(20);
		pagingProvider.setMaximumPageSize(200);
		server.setPagingProvider(pagingProvider);
		// JSON unless the client asks for XML: what the sync client and the tests speak.
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
		ServletRegistrationBean<RestfulServer> reg = new ServletRegistrationBean<>(server, "/fhir/*");
		// Initialise HAPI's servlet during start-up, so the first /fhir/metadata answer means
		// the server is really ready rather than the first request paying for it.
		reg.setLoadOnStartup(1);
		return reg;
	}
}
